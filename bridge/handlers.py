"""Handlers: turn one event into Celery tasks, sent by name (the bridge imports no task code)."""

from dataclasses import dataclass
from datetime import datetime

from celery import Celery

from events import Envelope, encode

RECORD_EVENT = "intake.record_event"
SEND_CONFIRMATION = "mailer.send_confirmation"
START_SAGA = "workflow.start_saga"


@dataclass(frozen=True)
class Dispatch:
    celery: Celery
    delivered_at: datetime

    def send(self, name: str, *args) -> None:
        self.celery.send_task(name, args=list(args))


def record_only(envelope: Envelope, dispatch: Dispatch) -> list[str]:
    """Every event goes to its submission's timeline (the read model the API shows)."""
    dispatch.send(RECORD_EVENT, encode(envelope).decode(), dispatch.delivered_at.isoformat())
    return [RECORD_EVENT]


def start_processing(envelope: Envelope, dispatch: Dispatch) -> list[str]:
    """A new submission: record it, then start the mailer and the lead workflow side by side."""
    sent = record_only(envelope, dispatch)
    dispatch.send(SEND_CONFIRMATION, envelope.subject, envelope.id)
    dispatch.send(START_SAGA, envelope.subject, envelope.id)
    return [*sent, SEND_CONFIRMATION, START_SAGA]
