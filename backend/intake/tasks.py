"""Celery entry points of the intake app."""

from datetime import datetime

from celery import shared_task

from events.work import RECORD_HANDOFFS
from intake.services import timeline_handoffs_record


@shared_task(name=RECORD_HANDOFFS, acks_late=True)
def record_handoffs(handoffs: list[list[str]]) -> dict:
    """The bridge's report of one poll batch: [event id, submission id, handed-off time] per event."""
    parsed = [(event_id, submission_id, datetime.fromisoformat(at)) for event_id, submission_id, at in handoffs]
    return {"recorded": timeline_handoffs_record(handoffs=parsed)}
