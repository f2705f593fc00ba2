"""The relay: claims unsent outbox rows, publishes them to Kafka, marks them on the delivery report.

Several relays may run at once (a standby, or more throughput): claims are serialized, a row is
claimed by a conditional UPDATE so each row is published by the one relay whose claim matched, and a
relay skips every key another relay holds rows of, so one submission's events reach Kafka in the
order they were written. A relay that dies mid-batch leaves a claim that expires after
OUTBOX_CLAIM_SECONDS, and the row is published again by whoever claims it next: delivery is at
least once, and consumers dedupe by event id.
"""

import functools
import json
import logging
import secrets
import threading
from datetime import timedelta

import redis
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.kafka import client_config
from common.logs import correlation_id_bound
from common.loop import FailureClock
from events import record_headers
from events.topics import ensure_topics, topic_layout
from infra.metrics import metrics_serve
from outbox.models import OutboxEvent

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:relay"
HEARTBEAT_TTL_SECONDS = 10
CLAIM_LOCK_ID = 0x0B0C  # PostgreSQL advisory lock: one relay claims at a time

EVENTS_PUBLISHED = Counter("intake_events_published", "Outbox events Kafka confirmed, by event type.", ["type"])
PUBLISH_FAILURES = Counter("intake_publish_failures", "Outbox events Kafka did not confirm (retried).")
RELAY_LAG = Histogram(
    "intake_relay_lag_seconds",
    "From an outbox row's write (in its transaction) to Kafka's delivery report.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


class OutboxBacklogCollector(Collector):
    """The outbox's unsent rows, counted when Prometheus scrapes (one indexed query), not per event."""

    def describe(self):
        return self._families()

    def collect(self):
        try:
            unsent = OutboxEvent.objects.filter(published_at__isnull=True)
            stats = unsent.aggregate(count=Count("id"), oldest=Min("created_at"))
        except DatabaseError as exc:
            logger.warning("outbox backlog not measured (%s)", exc)
            return []
        finally:
            connection.close()  # the scrape's own thread: its connection is not reused
        age = (timezone.now() - stats["oldest"]).total_seconds() if stats["oldest"] else 0.0
        return self._families(stats["count"], age)

    @staticmethod
    def _families(count: int | None = None, age: float | None = None) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "intake_outbox_backlog", "Outbox rows Kafka has not confirmed yet (every relay: the same table).", count
            ),
            GaugeMetricFamily("intake_outbox_oldest_unsent_seconds", "Age of the oldest unsent outbox row.", age),
        ]


def correlation_of(payload: str) -> str | None:
    """The correlation id in an encoded envelope (read only to label a log line)."""
    try:
        return json.loads(payload).get("correlationid")
    except (ValueError, AttributeError):
        return None


def producer_config() -> dict:
    return client_config(
        settings.KAFKA_BOOTSTRAP_SERVERS,
        settings.KAFKA_AUTH,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            # A record Kafka has not confirmed by then fails, and its row goes back to the queue.
            "message.timeout.ms": 15000,
            "client.id": "outbox-relay",
            "logger": logger,  # librdkafka's own lines in this log's format (served by flush)
        },
    )


@functools.cache
def _claim_sql(vendor: str) -> str:
    """One statement claims a batch and returns its rows (SQLite 3.35+ and PostgreSQL have RETURNING):
    the oldest unsent rows that nobody holds, skipping every key another relay holds rows of. As three
    ORM queries (select the ids, update them, read them back) it was half the relay's CPU. Built once
    per database vendor (its quoting)."""
    table, key = connection.ops.quote_name(OutboxEvent._meta.db_table), connection.ops.quote_name("key")
    return (
        f"UPDATE {table} SET claim_token = %s, claimed_until = %s, attempts = attempts + 1 "  # noqa: S608 (names from the model)
        f"WHERE id IN (SELECT id FROM {table} "
        f"WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < %s) "
        f"AND {key} NOT IN (SELECT {key} FROM {table} WHERE published_at IS NULL AND claimed_until >= %s) "
        f"ORDER BY created_at LIMIT %s) "
        f"RETURNING id, topic, {key}, event_type, payload, created_at, attempts"
    )


class Relay:
    """One relay: `run_once()` publishes one batch, `run_forever()` loops until stopped."""

    def __init__(self, producer: Producer | None = None, redis_client: redis.Redis | None = None):
        self.make_producer = (lambda: producer) if producer is not None else (lambda: Producer(producer_config()))
        self.producer = self.make_producer()
        self.redis = redis_client or redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        self.stopping = threading.Event()
        self.topics_ready = False
        self.health = FailureClock()  # health means working: the heartbeat says when batches fail
        self.published = 0

    def claim(self) -> list[OutboxEvent]:
        """Claim up to one batch of unsent rows for this relay, oldest first.

        Relays claim one at a time (SQLite's write lock at BEGIN IMMEDIATE; on PostgreSQL a
        transaction-scoped advisory lock), and a relay never takes a row whose key has a row held by
        another relay: each submission's events are then published by one relay at a time, in the
        order they were written, however many relays run.
        """
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK_ID])
            now = timezone.now()
            until = now + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS)
            token = f"relay-{settings.METRICS_REPLICA}-{secrets.token_hex(8)}"  # whose claim, in the admin too
            params = [token, until, now, now, settings.OUTBOX_BATCH_SIZE]
            rows = list(OutboxEvent.objects.using(connection.alias).raw(_claim_sql(connection.vendor), params))
        return sorted(rows, key=lambda row: row.created_at)

    def run_once(self, flush_timeout: float = 10.0) -> int:
        """Claim and publish one batch; return how many rows Kafka confirmed."""
        published = self.publish(self.claim(), flush_timeout)
        self.published += published
        return published

    def publish(self, rows: list[OutboxEvent], flush_timeout: float = 10.0) -> int:
        """Publish claimed rows in order; mark those Kafka confirmed, free the others. Returns the count."""
        if not rows:
            return 0
        delivered: set = set()
        placed: dict = {}  # row id -> (partition, offset), for its log line
        failed: dict = {}
        fatal: list[KafkaError] = []

        def report(row_id):
            def on_delivery(err: KafkaError | None, msg: Message | None) -> None:
                if err is None:
                    delivered.add(row_id)
                    if msg is not None:
                        placed[row_id] = (msg.partition(), msg.offset())
                else:
                    failed[row_id] = str(err)
                    if err.fatal():
                        fatal.append(err)

            return on_delivery

        try:
            for row in rows:
                self.producer.produce(
                    row.topic,
                    key=row.key.encode(),
                    value=row.payload.encode(),
                    headers=record_headers(),  # CloudEvents structured mode: no `ce_` headers
                    on_delivery=report(row.id),
                )
            remaining = self.producer.flush(flush_timeout)
        except (KafkaException, BufferError) as exc:
            logger.warning("relay: producing failed (%s)", exc)
            remaining = 1
        if remaining or fatal:
            # Records Kafka did not confirm in time, or a producer that hit a fatal error (an
            # idempotent producer cannot continue after one): drop what is queued, which fails its
            # callbacks and frees its rows for the next claim, and start a new producer session.
            self.reset_producer()
        now = timezone.now()
        for row in rows:
            if row.id not in delivered and row.id not in failed:
                failed[row.id] = "not confirmed by Kafka in time"
        with transaction.atomic():  # one short write transaction per batch
            if delivered:
                OutboxEvent.objects.filter(id__in=delivered).update(
                    published_at=now, claim_token="", claimed_until=None, last_error=""
                )
            for row_id, error in failed.items():
                OutboxEvent.objects.filter(id=row_id).update(
                    claim_token="", claimed_until=None, last_error=error[:1000]
                )
        self.health.note(ok=bool(delivered) or not failed, error=next(iter(failed.values()), ""))
        self._note_published([row for row in rows if row.id in delivered], now, placed)
        PUBLISH_FAILURES.inc(len(failed))
        if failed:
            logger.warning("relay: %d delivered, %d not (%s)", len(delivered), len(failed), next(iter(failed.values())))
        return len(delivered)

    def _note_published(self, rows: list[OutboxEvent], now, placed: dict) -> None:
        """Count the events Kafka confirmed, and log one line each with its submission's correlation id."""
        log = logger.isEnabledFor(logging.INFO)
        for row in rows:
            EVENTS_PUBLISHED.labels(row.event_type).inc()
            RELAY_LAG.observe(max(0.0, (now - row.created_at).total_seconds()))
            if log:
                partition, offset = placed.get(row.id, (None, None))
                with correlation_id_bound(correlation_of(row.payload)):
                    logger.info(
                        "published %s %s",
                        row.event_type,
                        row.id,
                        extra={
                            "event_type": row.event_type,
                            "event_id": str(row.id),
                            "submission_id": row.key,
                            "partition": partition,
                            "offset": offset,
                        },
                    )

    def reset_producer(self) -> None:
        try:
            self.producer.purge()
            self.producer.flush(0)
        except KafkaException as exc:
            logger.warning("relay: discarding the old producer (%s)", exc)
        self.producer = self.make_producer()

    def heartbeat(self) -> None:
        """The service's key (/health/deps: some relay is working) and this replica's own
        (HEARTBEAT_KEY:N, which `./deploy.sh status` checks for each of N relays)."""
        beat = json.dumps(self.health.beat())
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(HEARTBEAT_KEY, beat, ex=HEARTBEAT_TTL_SECONDS)
                pipe.set(f"{HEARTBEAT_KEY}:{settings.METRICS_REPLICA}", beat, ex=HEARTBEAT_TTL_SECONDS)
                pipe.execute()
        except redis.RedisError as exc:
            logger.warning("relay heartbeat not written: %s", exc)

    def ensure_topics(self) -> None:
        ensure_topics(
            client_config(settings.KAFKA_BOOTSTRAP_SERVERS, settings.KAFKA_AUTH),
            topic_layout(settings.KAFKA_TOPIC, settings.KAFKA_NUM_PARTITIONS),
            replication=settings.KAFKA_REPLICATION_FACTOR,
            min_insync=settings.KAFKA_MIN_INSYNC_REPLICAS,
            retention_hours=settings.KAFKA_RETENTION_HOURS,
        )
        self.topics_ready = True

    def run_forever(self) -> None:
        """Publish until stopped, waking on each outbox notification and polling as a fallback."""
        metrics_serve(settings.METRICS_PORT_RELAY, what="relay", collectors=(OutboxBacklogCollector(),))
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(settings.OUTBOX_WAKEUP_CHANNEL)
        logger.info("relay started: topic %s on %s", settings.KAFKA_TOPIC, settings.KAFKA_BOOTSTRAP_SERVERS)
        while not self.stopping.is_set():
            if self.health.beat_due():
                self.heartbeat()
            close_old_connections()
            try:
                if not self.topics_ready:
                    self.ensure_topics()
                published = self.run_once()
            except Exception as exc:  # the loop must outlive a broker or database hiccup
                logger.exception("relay batch failed; retrying")
                self.health.note(ok=False, error=f"{type(exc).__name__}: {exc}")
                published = 0
                self.stopping.wait(1.0)
            if published >= settings.OUTBOX_BATCH_SIZE:
                continue  # a full batch: there may be more waiting
            try:
                # Drain every queued notification so one wake-up serves a burst of commits; linger a
                # moment first, so that under load one batch (one claim, one produce request, one
                # mark) carries the commits of those few milliseconds instead of one each.
                message = pubsub.get_message(timeout=settings.OUTBOX_POLL_INTERVAL)
                if message is not None and settings.OUTBOX_LINGER_SECONDS > 0:
                    self.stopping.wait(settings.OUTBOX_LINGER_SECONDS)
                while message is not None:
                    message = pubsub.get_message(timeout=0)
            except redis.RedisError as exc:
                logger.warning("relay lost its wake-up channel (%s); polling", exc)
                self.stopping.wait(settings.OUTBOX_POLL_INTERVAL)
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                try:
                    pubsub.subscribe(settings.OUTBOX_WAKEUP_CHANNEL)
                except redis.RedisError:
                    pass
        self.producer.flush(10)
        logger.info("relay stopped: %d events published", self.published)
