"""Writes of the intake app: accepting a submission, and recording the events about it."""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from events import ContactFormSubmitted, Envelope
from intake.models import Submission, TimelineEntry
from outbox.services import outbox_record

logger = logging.getLogger(__name__)


@transaction.atomic
def submission_create(*, name: str, email: str, message: str, company: str = "", demo_fail_at: str = "") -> Submission:
    """Store a submission and its ContactFormSubmitted event in one transaction."""
    submission = Submission.objects.create(
        name=name, email=email, company=company, message=message, demo_fail_at=demo_fail_at
    )
    outbox_record(
        event=ContactFormSubmitted(
            submission_id=str(submission.id), name=name, email=email, company=company, message=message
        ),
        correlation_id=str(submission.correlation_id),
    )
    return submission


def timeline_record(*, envelope: Envelope, delivered_at: datetime | None = None) -> bool:
    """Add an event to its submission's timeline once; return False for a repeat or an unknown submission."""
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
