"""Handlers: turn one event into Celery work, sent by task name (the bridge imports no task code).

Only a new submission starts work. Every other event was written to its submission's timeline in
the transaction that produced it, so the bridge has nothing to hand off for it.
"""

from dataclasses import dataclass, field
from datetime import datetime

from celery import Celery

from events import Envelope
from workflow.saga import forward_chain

SEND_CONFIRMATION = "mailer.send_confirmation"
RECORD_HANDOFFS = "intake.record_handoffs"
# Queues, as the Django side routes them too (config/settings/celery.py; a unit test compares):
# the mailer's worker consumes MAIL_QUEUE, the workflow agent everything else.
MAIL_QUEUE = "mail"
WORKFLOW_QUEUE = "workflow"
TASK_ROUTES = {"mailer.*": {"queue": MAIL_QUEUE}}


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
    dispatch.send(SEND_CONFIRMATION, envelope.subject, envelope.id)
    saga = forward_chain(envelope.subject, causation_id=envelope.id, app=dispatch.celery)
    saga.apply_async()
    dispatch.handoffs.append([envelope.id, envelope.subject, dispatch.delivered_at.isoformat()])
    return [SEND_CONFIRMATION, *(step.task for step in saga.tasks)]


def report_handoffs(dispatch: Dispatch) -> None:
    """One task for the whole batch: the timeline notes when each submission reached Celery."""
    if dispatch.handoffs:
        dispatch.send(RECORD_HANDOFFS, dispatch.handoffs)
