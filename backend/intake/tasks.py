"""Celery entry points of the intake app."""

from datetime import datetime

from celery import shared_task

from events import decode
from events.work import RECORD_HANDOFFS
from intake.services import timeline_handoffs_record, timeline_record


@shared_task(name=RECORD_HANDOFFS, acks_late=True)
def record_handoffs(handoffs: list[list[str]]) -> dict:
    """The bridge's report of one poll batch: [event id, submission id, handed-off time] per event."""
    parsed = [(event_id, submission_id, datetime.fromisoformat(at)) for event_id, submission_id, at in handoffs]
    return {"recorded": timeline_handoffs_record(handoffs=parsed)}


@shared_task(name="intake.record_event", acks_late=True)
def record_event(envelope_json: str, delivered_at: str | None = None) -> dict:
    """Accepted from a bridge of an older release, which fed every event back to the timeline."""
    envelope = decode(envelope_json)
    created = timeline_record(
        envelope=envelope, delivered_at=datetime.fromisoformat(delivered_at) if delivered_at else None
    )
    return {"event_id": envelope.id, "recorded": created}
