"""The reconciler: finds accepted work that stopped moving and re-drives it where it was lost.

Every tick (RECONCILE_INTERVAL) it looks for work that made no progress for RECONCILE_STALL_SECONDS:

- an event still in the outbox: the relay is woken (it publishes when Kafka takes it);
- a submission in Kafka that no task ever picked up (no email row, no saga run): its tasks are sent
  straight to Celery, past the bridge and its dedupe, which would swallow a republished event (a
  missing email row already RECONCILE_MAIL_HANDOFF_SECONDS after the bridge handed the event over,
  when the mail queue is empty: its task died with a worker);
- an email whose retry is due, or whose worker died holding it (lease expired): sent again;
- a saga run that stopped moving: its chain is sent again (done steps are skipped).

While Celery's queue holds more than RECONCILE_BACKLOG_LIMIT tasks, only the relay is woken: slow
work under a backlog is queued, not lost, and re-sending it would lengthen the queue.

Every action is idempotent at the receiving end (claims, step rows, event ids), so a re-drive that
races the original does no harm. `manage.py redrive` runs one tick with a chosen stall time.

Every PURGE_INTERVAL (the first time PURGE_FIRST_DELAY after start) it also deletes finished
submissions older than DATA_RETENTION_DAYS (pipeline/retention.py). A tick purges at most
PURGE_BATCHES_PER_TICK batches, so re-drives are not held up: a larger backlog is purged over the next
ticks. A failed purge is logged and tried again an interval later. The same purge forgets the
admin's old sign-in records (django-axes). The mock CRM's own database is purged by the CRM's
server process itself (crm/retention.py).
"""

import json
import logging
import threading
import time
import uuid
from datetime import timedelta

import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from prometheus_client import Counter, Gauge

from common.logs import correlation_id_bound
from common.loop import FailureClock
from config.celery import app as celery_app
from events.work import mail_send, saga_start
from infra.admin_base import admin_login_records_purge
from infra.metrics import metrics_serve
from intake.models import Submission, TimelineEntry
from mailer.services import mail_due_ids
from outbox.models import OutboxEvent
from outbox.services import outbox_notify
from pipeline.gauges import PipelineGauges
from pipeline.retention import BATCHES, submissions_purge
from workflow.recovery import saga_redrive, saga_stalled

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:reconciler"
HEARTBEAT_TTL_SECONDS = 30
GUARD_PREFIX = "reconcile:"
LOOKBACK = timedelta(days=7)  # older work is left to an operator (and outbox rows are pruned)
BATCH = 500
SUBMITTED = "ContactFormSubmitted"
PURGE_FIRST_DELAY = 60.0  # seconds after start: what start-up finds stalled is re-driven first
PURGE_BATCH = 500
PURGE_BATCHES_PER_TICK = 10  # a few seconds at most: the heartbeat and re-drives go on meanwhile

ACTIONS = Counter(
    "intake_reconciler_actions",
    "What the reconciler did, by kind: handoffs, emails, sagas (submissions re-driven), relay_woken (stalled "
    "outbox rows it woke the relay for), purged (submissions deleted), deferred_for_backlog (passes that "
    "re-drove nothing under a Celery backlog).",
    ["kind"],
)
QUEUE_LENGTH = Gauge(
    "intake_celery_queue_length", "Tasks waiting in a Celery queue, as the reconciler saw them.", ["queue"]
)


class Reconciler:
    """`run_once()` is one pass; `run_forever()` repeats it every RECONCILE_INTERVAL until stopped."""

    def __init__(self, redis_client: redis.Redis | None = None, celery=celery_app, broker: redis.Redis | None = None):
        self.redis = redis_client or redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        # Celery's own Redis, to see its queue (REDIS_URL may name another server).
        self.broker = broker or redis_client or redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5)
        self.celery = celery
        self.stopping = threading.Event()
        self.totals: dict[str, int] = {}
        self.health = FailureClock()
        self.next_purge_at = time.monotonic() + PURGE_FIRST_DELAY
        self.gauges = PipelineGauges()

    def _first_time(self, kind: str, key: str, ttl: int) -> bool:
        """True once per `ttl` seconds for (kind, key): a re-drive waits for its effect before repeating."""
        return bool(self.redis.set(f"{GUARD_PREFIX}{kind}:{key}", 1, nx=True, ex=max(1, ttl)))

    def run_once(self, *, stall_seconds: int | None = None) -> dict[str, int]:
        """Re-drive everything stalled for `stall_seconds`; return what was done, by kind."""
        stall = settings.RECONCILE_STALL_SECONDS if stall_seconds is None else stall_seconds
        now = timezone.now()
        stalled_before = now - timedelta(seconds=stall)
        lengths = {queue: self.broker.llen(queue) for queue in settings.CELERY_QUEUES_WATCHED}
        for queue, length in lengths.items():
            QUEUE_LENGTH.labels(queue).set(length)
        queued = sum(lengths.values())
        if queued > settings.RECONCILE_BACKLOG_LIMIT:
            # Under a backlog, work is slow because it is queued, not because it was lost; sending it
            # again would only lengthen the queue. It is looked at again once the queue has drained.
            woken = self._wake_relay(stalled_before)
            ACTIONS.labels("relay_woken").inc(woken)
            ACTIONS.labels("deferred_for_backlog").inc()
            return {"relay_woken": woken, "deferred_for_backlog": queued}
        counts = {
            "relay_woken": self._wake_relay(stalled_before),
            "handoffs": self._redrive_handoffs(now, stalled_before, stall, mail_idle=not lengths.get("mail")),
            "emails": self._redrive_mail(now, stalled_before, stall),
            "sagas": self._redrive_sagas(stalled_before, stall),
        }
        for kind, count in counts.items():
            self.totals[kind] = self.totals.get(kind, 0) + count
            if count:
                ACTIONS.labels(kind).inc(count)
        if any(counts.values()):
            logger.info("reconciler re-drove %s", {k: v for k, v in counts.items() if v})
        return counts

    def _wake_relay(self, stalled_before) -> int:
        waiting = OutboxEvent.objects.filter(published_at__isnull=True, created_at__lt=stalled_before).count()
        if waiting:
            outbox_notify()
        return waiting

    def _redrive_handoffs(self, now, stalled_before, stall: int, *, mail_idle: bool) -> int:
        # A mail task claims its row within milliseconds of starting. So when the mail queue is empty, a
        # submission the bridge handed over RECONCILE_MAIL_HANDOFF_SECONDS ago without an email row had
        # its task lost with a worker that died holding it (Redis would give it back only after the
        # visibility timeout): it is sent again then, not after the general stall time. What the bridge
        # has not handed over yet (it is down, or behind) waits for the stall time as before.
        mail_before = now - timedelta(seconds=settings.RECONCILE_MAIL_HANDOFF_SECONDS) if mail_idle else stalled_before
        recent = Submission.objects.filter(created_at__gt=now - LOOKBACK)
        no_mail = recent.filter(created_at__lt=max(mail_before, stalled_before), email_delivery__isnull=True)
        no_saga = recent.filter(created_at__lt=stalled_before, saga_run__isnull=True)
        orphans = set(no_mail.values_list("id", flat=True)[:BATCH]) | set(no_saga.values_list("id", flat=True)[:BATCH])
        published = dict(
            OutboxEvent.objects.filter(
                key__in=[str(pk) for pk in orphans], event_type=SUBMITTED, published_at__isnull=False
            ).values_list("key", "id")
        )
        handed_over = dict(
            TimelineEntry.objects.filter(
                submission_id__in=orphans, event_type=SUBMITTED, delivered_at__isnull=False
            ).values_list("submission_id", "delivered_at")
        )
        sent = 0
        for submission in Submission.objects.filter(id__in=orphans).select_related("email_delivery", "saga_run"):
            key = str(submission.id)
            if key not in published:
                continue  # not in Kafka yet: the relay's part
            event_id = str(published[key])
            # Handed over by the bridge that long ago, or (whatever the bridge did) stalled.
            handed_over_at = handed_over.get(submission.id)
            due = submission.created_at < stalled_before or (
                handed_over_at is not None and handed_over_at < mail_before
            )
            lost_mail = not hasattr(submission, "email_delivery") and due
            lost_saga = not hasattr(submission, "saga_run") and submission.created_at < stalled_before
            lost_mail = lost_mail and self._first_time("handoff-mail", key, stall)  # not re-driven a moment ago
            lost_saga = lost_saga and self._first_time("handoff-saga", key, stall)
            if not (lost_mail or lost_saga):
                continue
            with correlation_id_bound(submission.correlation_id):  # its tasks carry it (config/celery.py)
                if lost_mail:
                    mail_send(self.celery, key, event_id)
                if lost_saga:
                    saga_start(self.celery, key, event_id)
                logger.info("re-drove the hand-off of submission %s", key, extra={"submission_id": key})
            sent += 1
        return sent

    def _redrive_mail(self, now, stalled_before, stall: int) -> int:
        sent = 0
        due = mail_due_ids(now=now, stalled_before=stalled_before, limit=BATCH)
        for submission_id, correlation_id in self._with_correlation_ids(due):
            if self._first_time("mail", submission_id, min(stall, 30)):
                with correlation_id_bound(correlation_id):
                    mail_send(self.celery, submission_id)
                    logger.info("re-sent the confirmation of submission %s", submission_id)
                sent += 1
        return sent

    def _redrive_sagas(self, stalled_before, stall: int) -> int:
        sent = 0
        for submission_id, correlation_id in self._with_correlation_ids(saga_stalled(stalled_before=stalled_before)):
            if self._first_time("saga", submission_id, stall):
                with correlation_id_bound(correlation_id):
                    status = saga_redrive(submission_id=submission_id)
                    logger.info("re-drove the %s workflow of submission %s", status, submission_id)
                sent += 1
        return sent

    @staticmethod
    def _with_correlation_ids(submission_ids: list[str]) -> list[tuple[str, str | None]]:
        """Each id with its submission's correlation id, for the log lines and tasks of its re-drive (one
        query per pass, only when something is stalled)."""
        if not submission_ids:
            return []
        found = dict(Submission.objects.filter(id__in=submission_ids).values_list("id", "correlation_id"))
        return [(submission_id, found.get(uuid.UUID(submission_id))) for submission_id in submission_ids]

    def purge_if_due(self, *, now: float | None = None) -> dict[str, int] | None:
        """Purge expired personal data when it is due; None when it was not (or purging is off, or failed)."""
        now = time.monotonic() if now is None else now
        if settings.DATA_RETENTION_DAYS <= 0 or now < self.next_purge_at:
            return None
        self.next_purge_at = now + settings.PURGE_INTERVAL
        older_than = timezone.now() - timedelta(days=settings.DATA_RETENTION_DAYS)
        try:
            counts = submissions_purge(
                older_than=older_than, batch_size=PURGE_BATCH, max_batches=PURGE_BATCHES_PER_TICK
            )
        except Exception:  # a locked or missing database: the next interval tries again
            logger.exception("purge failed; trying again in %.0f s", settings.PURGE_INTERVAL)
            return None
        try:
            counts["axes"] = admin_login_records_purge(older_than=older_than)
        except Exception:
            logger.exception("purge of admin sign-in records failed; trying again in %.0f s", settings.PURGE_INTERVAL)
        purged = counts[Submission._meta.label]
        if purged >= PURGE_BATCH * PURGE_BATCHES_PER_TICK:
            self.next_purge_at = now  # every batch was full: a backlog, purged on at the next tick
        self.totals["purged"] = self.totals.get("purged", 0) + purged
        ACTIONS.labels("purged").inc(purged)
        done = {kind: count for kind, count in counts.items() if count and kind != BATCHES}
        logger.info("purge of data created before %s: %s", older_than.isoformat(), done or "nothing to delete")
        return counts

    def heartbeat(self) -> None:
        try:
            beat = self.health.beat(**self.totals)
            self.redis.set(HEARTBEAT_KEY, json.dumps(beat), ex=HEARTBEAT_TTL_SECONDS)
        except redis.RedisError as exc:
            logger.warning("reconciler heartbeat not written: %s", exc)

    def run_forever(self) -> None:
        metrics_serve(settings.METRICS_PORT_RECONCILER, what="reconciler")
        logger.info(
            "reconciler started: every %.1f s, stall after %d s",
            settings.RECONCILE_INTERVAL,
            settings.RECONCILE_STALL_SECONDS,
        )
        while not self.stopping.is_set():
            close_old_connections()
            try:
                self.run_once()
                self.health.note(ok=True)
            except Exception as exc:  # the loop outlives a database, Redis or broker hiccup
                logger.exception("reconciler pass failed; trying again next tick")
                self.health.note(ok=False, error=f"{type(exc).__name__}: {exc}")
            try:
                self.gauges.measure()  # what the alerts watch from outside (pipeline/gauges.py)
            except Exception:  # noqa: BLE001 (a database hiccup: measured again next tick)
                logger.exception("pipeline gauges not measured; trying again next tick")
            self.purge_if_due()
            self.heartbeat()
            self.stopping.wait(settings.RECONCILE_INTERVAL)
        logger.info("reconciler stopped: %s", self.totals)
