"""The work a new submission starts, by task name and queue: the only place those names are written.

The bridge (when ContactFormSubmitted arrives) and the reconciler (when the bridge's hand-off was
lost) both call `submission_start`, so the two can never start different work. Task code lives in
the stages; this module knows only names, which is why the bridge can import it without Django.
"""

from celery import Celery

from events.saga import forward_chain

SEND_CONFIRMATION = "mailer.send_confirmation"
RECORD_HANDOFFS = "intake.record_handoffs"
# The mailer's worker consumes MAIL_QUEUE, the workflow agent everything else (config/settings/celery.py).
MAIL_QUEUE = "mail"
WORKFLOW_QUEUE = "workflow"
TASK_ROUTES = {"mailer.*": {"queue": MAIL_QUEUE}}


def mail_send(celery: Celery, submission_id: str, causation_id: str | None = None) -> None:
    """Send (or re-send, if it is still due) a submission's confirmation."""
    celery.send_task(SEND_CONFIRMATION, args=[submission_id, causation_id])


def saga_start(celery: Celery, submission_id: str, causation_id: str | None = None) -> list[str]:
    """Start the lead saga's forward chain; returns its task names in order."""
    saga = forward_chain(submission_id, causation_id=causation_id, app=celery)
    saga.apply_async()
    return [step.task for step in saga.tasks]


def submission_start(celery: Celery, submission_id: str, causation_id: str | None) -> list[str]:
    """Start a new submission's work: the confirmation and the lead saga's chain, side by side.
    Returns the task names started, in order."""
    mail_send(celery, submission_id, causation_id)
    return [SEND_CONFIRMATION, *saga_start(celery, submission_id, causation_id)]
