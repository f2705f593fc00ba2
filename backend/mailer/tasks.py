"""Celery entry points of the mailer."""

from celery import shared_task

from mailer.services import confirmation_send


@shared_task(name="mailer.send_confirmation")
def send_confirmation(submission_id: str, causation_id: str | None = None) -> dict:
    """Send a submission's confirmation email once; a failed send is retried by the reconciler."""
    # No Celery retries: a transient failure marks the delivery RETRYING with its next attempt time
    # (which can be hours away), and the reconciler sends the task again when it is due.
    return confirmation_send(submission_id=submission_id, causation_id=causation_id)
