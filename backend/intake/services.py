"""Writes of the intake app: accepting a submission, and emitting the events about it.

Every event goes out through `event_emit`, inside the transaction of the change it reports: the
outbox row (for Kafka) and the submission's timeline row (the read model the API and the live view
show) are written together, so the timeline never waits for a round trip through Kafka.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from events import ContactFormSubmitted, Envelope, Event
from intake.access import access_token_new
from intake.models import Submission, TimelineEntry
from outbox.services import outbox_notify, outbox_record

logger = logging.getLogger(__name__)


def event_emit(*, event: Event, correlation_id: str, causation_id: str | None = None) -> Envelope:
    """Record an event for Kafka and on its submission's timeline; must run inside the caller's transaction."""
    envelope = outbox_record(event=event, correlation_id=correlation_id, causation_id=causation_id)
    TimelineEntry.objects.create(
        submission_id=envelope.subject,
        event_id=envelope.id,
        event_type=envelope.type,
        event_version=envelope.dataversion,
        occurred_at=envelope.time,
        data=envelope.data,
    )
    return envelope


@transaction.atomic
def submission_create(*, name: str, email: str, message: str, company: str = "", demo_fail_at: str = "") -> Submission:
    """Store a submission and its ContactFormSubmitted event in one transaction.

    The returned submission carries `access_token`, the visitor's key to its details: only its digest
    is stored, so this is the one time it can be read.
    """
    token, digest = access_token_new()
    submission = Submission.objects.create(
        name=name, email=email, company=company, message=message, demo_fail_at=demo_fail_at, access_token_hash=digest
    )
    submission.access_token = token
    event_emit(
        event=ContactFormSubmitted(submission_id=str(submission.id)),
        correlation_id=str(submission.correlation_id),
    )
    return submission


def timeline_handoffs_record(*, handoffs: list[tuple[str, str, datetime]]) -> int:
    """Note when the bridge handed events to Celery: (event id, submission id, time), one write per batch."""
    with transaction.atomic():
        updated = sum(
            TimelineEntry.objects.filter(event_id=event_id, delivered_at__isnull=True).update(delivered_at=at)
            for event_id, _, at in handoffs
        )
        for submission_id in {submission_id for _, submission_id, _ in handoffs}:
            transaction.on_commit(lambda key=submission_id: outbox_notify(key))
    return updated


def timeline_record(*, envelope: Envelope, delivered_at: datetime | None = None) -> bool:
    """Add an event to its submission's timeline once; return False for a repeat or an unknown submission.

    Only for events written before the timeline moved into the emitting transaction (a bridge of an
    older release may still hand such events over); `event_emit` writes the timeline now.
    """
    if not Submission.objects.filter(id=envelope.subject).exists():
        logger.warning("timeline: event %s names unknown submission %s", envelope.id, envelope.subject)
        return False
    try:
        with transaction.atomic():
            _, created = TimelineEntry.objects.get_or_create(
                event_id=envelope.id,
                defaults={
                    "submission_id": envelope.subject,
                    "event_type": envelope.type,
                    "event_version": envelope.dataversion,
                    "occurred_at": envelope.time,
                    "delivered_at": delivered_at,
                    "data": envelope.data,
                },
            )
    except IntegrityError:  # the same event recorded concurrently by another worker thread
        return False
    return created
