"""Celery entry points of the intake app."""

from datetime import datetime

from celery import shared_task

from events import decode
from intake.services import timeline_record


@shared_task(name="intake.record_event", acks_late=True)
def record_event(envelope_json: str, delivered_at: str | None = None) -> dict:
    """Add an event the bridge read from Kafka to its submission's timeline (once per event id)."""
    envelope = decode(envelope_json)
    created = timeline_record(
        envelope=envelope, delivered_at=datetime.fromisoformat(delivered_at) if delivered_at else None
    )
    return {"event_id": envelope.id, "recorded": created}
