"""Celery entry points of the mailer."""

from celery import shared_task
from django.conf import settings

from events.work import SEND_CONFIRMATION
from mailer.services import confirmation_send

# A send may wait SMTP_DATA_TIMEOUT for the end of the message to be answered: the task's time limits
# (enforced by a prefork pool; the threads pool has none) must not cut it short, or a killed send
# could be sent again by the worker that takes it over.
MAIL_TASK_SOFT_LIMIT = settings.SMTP_DATA_TIMEOUT + 5 * settings.EMAIL_TIMEOUT + 30


@shared_task(name=SEND_CONFIRMATION, soft_time_limit=MAIL_TASK_SOFT_LIMIT, time_limit=MAIL_TASK_SOFT_LIMIT + 30)
def send_confirmation(submission_id: str, causation_id: str | None = None) -> dict:
    """Send a submission's confirmation email once; a failed send is retried by the reconciler."""
    # No Celery retries: a transient failure marks the delivery RETRYING with its next attempt time
    # (which can be hours away), and the reconciler sends the task again when it is due.
    return confirmation_send(submission_id=submission_id, causation_id=causation_id)
