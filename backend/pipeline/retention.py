"""Retention of personal data: finished submissions older than DATA_RETENTION_DAYS are deleted.

What holds a visitor's data, and what becomes of it:

- `intake.Submission` (name, email, company, message) and its `TimelineEntry` rows (event data that
  repeats them): deleted.
- `mailer.EmailDelivery` (the recipient), `workflow.SagaRun` with its `SagaStep` rows (step results)
  and `workflow.Lead` (tags, owner, the CRM's id): deleted with the submission (they cascade from it).
- `outbox.OutboxEvent` rows about it (the payload is the encoded envelope, with name, email and
  message; `key` is the submission id): deleted, all of them already published (see "final" below).
  Published rows older than the cutoff whose submission is gone already (deleted by hand in the
  admin) are deleted too. An unpublished row is never deleted.
- `crm.CrmLead`: the CRM's own data in its own database, purged by the CRM's server itself
  (crm/retention.py; by hand: `manage.py crm_purge --settings config.settings.crm_server`).

Deleted, not anonymised: nothing needs a finished old submission. The pipeline's guarantees (nothing
lost, nothing done twice, a final state) are about work in flight, and no statistics are read from
these rows. An anonymised row would still record that someone wrote (when, through which steps), and
every field and JSON payload would have to be scrubbed, again whenever a field is added; deleting the
submission takes everything hanging off it by construction.

Final, and so purgeable: the email is SENT or FAILED (FAILED includes a confirmation held back by the
per-recipient limit) and the saga run is COMPLETED, COMPENSATED or COMPENSATION_FAILED, the model
statuses behind `selectors.submission_state`'s final statuses, and none of the submission's events
waits in the outbox. Anything else (no email row or saga run yet, an email PENDING, SENDING or
RETRYING, a saga RUNNING or COMPENSATING, an event not yet published) is work in flight: it is kept
and counted as `kept_not_final`, for the reconciler and operators.

Deletes run in batches, one short transaction each, and each batch checks finality again under the
write lock: a large purge never holds SQLite's single write lock long enough to stall the API.
"""

import logging
import uuid
from collections import Counter
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.deletion import Collector

from intake.models import Submission, TimelineEntry
from mailer.models import EmailDelivery
from outbox.models import OutboxEvent
from workflow.models import Lead, SagaRun, SagaStep

logger = logging.getLogger(__name__)

PURGED_MODELS = (Submission, TimelineEntry, EmailDelivery, SagaRun, SagaStep, Lead, OutboxEvent)
KEPT = "kept_not_final"
BATCHES = "batches"


def _finished_before(older_than: datetime) -> QuerySet:
    """Submissions created before `older_than` whose email and saga both reached a final status."""
    return Submission.objects.filter(
        created_at__lt=older_than,
        email_delivery__status__in=EmailDelivery.FINAL_STATUSES,
        saga_run__status__in=SagaRun.FINAL_STATUSES,
    )


def _candidates(older_than: datetime, after: tuple | None, limit: int) -> list[tuple]:
    """The next finished submissions, oldest first, after the (created_at, id) cursor."""
    finished = _finished_before(older_than).order_by("created_at", "id")
    if after is not None:
        finished = finished.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
    return list(finished.values_list("created_at", "id")[:limit])


def _deletion(queryset: QuerySet, *, dry_run: bool) -> Counter:
    """Delete `queryset` with what cascades from it (or, dry, count it); rows per model label."""
    if not dry_run:
        return Counter(queryset.delete()[1])
    collector = Collector(using=queryset.db, origin=queryset)
    collector.collect(queryset)
    counts = Counter({model._meta.label: len(rows) for model, rows in collector.data.items()})
    for fast in collector.fast_deletes:
        counts[fast.model._meta.label] += fast.count()
    return counts


def _batch_purge(ids: list, older_than: datetime, *, dry_run: bool) -> Counter:
    """One batch: whatever is still finished (checked again here, under the write lock) goes."""
    finished = [str(pk) for pk in _finished_before(older_than).filter(id__in=ids).values_list("id", flat=True)]
    # An event still waiting for Kafka keeps its submission: the relay has yet to publish it.
    unsent = OutboxEvent.objects.filter(key__in=finished, published_at__isnull=True)
    waiting = set(unsent.values_list("key", flat=True))
    ready = [key for key in finished if key not in waiting]
    counts = Counter({KEPT: len(waiting)})
    published = OutboxEvent.objects.filter(key__in=ready, published_at__isnull=False)
    counts.update(_deletion(published, dry_run=dry_run))
    counts.update(_deletion(Submission.objects.filter(id__in=ready), dry_run=dry_run))
    return counts


def _submission_keys(keys: set[str]) -> set[str]:
    """Those of `keys` that name an existing submission (a key that is no UUID names none)."""
    ids = []
    for key in keys:
        try:
            ids.append(uuid.UUID(key))
        except ValueError:
            continue
    return {str(pk) for pk in Submission.objects.filter(id__in=ids).values_list("id", flat=True)}


def _orphans_purge(older_than: datetime, batch_size: int, *, dry_run: bool) -> int:
    """Published outbox rows older than the cutoff whose submission is gone already (deleted by hand)."""
    published = OutboxEvent.objects.filter(published_at__isnull=False, created_at__lt=older_than).order_by("id")
    after, total = None, 0
    while True:
        page = published if after is None else published.filter(id__gt=after)
        rows = list(page.values_list("id", "key")[:batch_size])
        if not rows:
            return total
        after = rows[-1][0]
        live = _submission_keys({key for _, key in rows})
        orphans = [pk for pk, key in rows if key not in live]
        if orphans and not dry_run:
            with transaction.atomic():
                OutboxEvent.objects.filter(id__in=orphans).delete()
        total += len(orphans)


def submissions_purge(
    *, older_than: datetime, batch_size: int = 500, dry_run: bool = False, max_batches: int | None = None
) -> dict[str, int]:
    """Delete finished submissions created before `older_than` with everything about them, one
    transaction per `batch_size` submissions (at most `max_batches`); return rows per model label,
    `kept_not_final` and `batches`. A dry run deletes nothing and returns the same counts."""
    counts = Counter({model._meta.label: 0 for model in PURGED_MODELS})
    counts[KEPT] = Submission.objects.filter(created_at__lt=older_than).count() - _finished_before(older_than).count()
    after, batches = None, 0
    while max_batches is None or batches < max_batches:
        page = _candidates(older_than, after, batch_size)
        if not page:
            # Last, once the submissions' own rows are gone: what is left is kept work and orphans.
            counts[OutboxEvent._meta.label] += _orphans_purge(older_than, batch_size, dry_run=dry_run)
            break
        after, batches = page[-1], batches + 1
        ids = [pk for _, pk in page]
        if dry_run:
            counts.update(_batch_purge(ids, older_than, dry_run=True))
        else:
            with transaction.atomic():
                counts.update(_batch_purge(ids, older_than, dry_run=False))
    if counts[KEPT]:
        logger.warning(
            "%d submission(s) created before %s are not final and were kept (the reconciler's and operators' part)",
            counts[KEPT],
            older_than.isoformat(),
        )
    return {**counts, BATCHES: batches}
