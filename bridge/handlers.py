"""Handlers: turn one event into Celery work, sent by task name (the bridge imports no task code).

Only a new submission starts work. Every other event was written to its submission's timeline in
the transaction that produced it, so the bridge has nothing to hand off for it.
"""

from dataclasses import dataclass, field
from datetime import datetime

from celery import Celery

from events import Envelope
from events.work import RECORD_HANDOFFS, submission_start


@dataclass
class Dispatch:
    celery: Celery
    delivered_at: datetime
    # What this poll batch handed off: [event id, submission id, time], reported in one task per batch.
    handoffs: list[list[str]] = field(default_factory=list)

    def send(self, name: str, *args) -> None:
        self.celery.send_task(name, args=list(args))


def start_processing(envelope: Envelope, dispatch: Dispatch) -> list[str]:
    """A new submission: start the mailer and the lead workflow's chain side by side."""
    started = submission_start(dispatch.celery, envelope.subject, envelope.id)
    dispatch.handoffs.append([envelope.id, envelope.subject, dispatch.delivered_at.isoformat()])
    return started


def report_handoffs(dispatch: Dispatch) -> None:
    """One task for the whole batch: the timeline notes when each submission reached Celery."""
    if dispatch.handoffs:
        dispatch.send(RECORD_HANDOFFS, dispatch.handoffs)
