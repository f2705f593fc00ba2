"""Celery entry points of the mailer."""

import smtplib
import socket

from celery import Task, shared_task
from django.conf import settings

from mailer.services import confirmation_mark_failed, confirmation_send

TRANSIENT = (smtplib.SMTPException, socket.timeout, ConnectionError, OSError)


class SendConfirmationTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """After the last retry: mark the email failed and tell the timeline."""
        confirmation_mark_failed(
            submission_id=kwargs.get("submission_id") or args[0],
            reason=f"{type(exc).__name__}: {exc}",
            causation_id=kwargs.get("causation_id"),
        )


@shared_task(
    name="mailer.send_confirmation",
    base=SendConfirmationTask,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=settings.TASK_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.TASK_MAX_RETRIES,
)
def send_confirmation(submission_id: str, causation_id: str | None = None) -> dict:
    """Send a submission's confirmation email once."""
    return confirmation_send(submission_id=submission_id, causation_id=causation_id)
