"""The confirmation email: rendered by django-templated-mail, sent once per submission."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from templated_mail.mail import BaseEmailMessage

from events import EmailDispatched, EmailFailed
from intake.models import Submission
from mailer.models import EmailDelivery
from outbox.services import outbox_record

logger = logging.getLogger(__name__)

TEMPLATE = "mailer/confirmation.html"
# A SENDING claim older than this belongs to a worker that died mid-send; it may be taken over.
STALE_CLAIM = timedelta(minutes=5)


def confirmation_message_id(submission: Submission) -> str:
    """A stable Message-ID, so that a mail system can also recognise a repeat."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<confirmation.{submission.id}@{domain}>"


def confirmation_build(*, submission: Submission) -> BaseEmailMessage:
    """The rendered-on-send confirmation for a submission (HTML and text; the template escapes input)."""
    return BaseEmailMessage(
        template_name=TEMPLATE,
        context={
            "name": submission.name,
            "company": submission.company,
            "message": submission.message,
            "submission_id": str(submission.id),
        },
        headers={"Message-ID": confirmation_message_id(submission)},
    )


def _claim(submission: Submission) -> EmailDelivery | None:
    delivery, _ = EmailDelivery.objects.get_or_create(submission=submission, defaults={"recipient": submission.email})
    now = timezone.now()
    claimable = Q(status=EmailDelivery.Status.PENDING) | Q(
        status=EmailDelivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    )
    # The conditional update is the lock: of two workers running the same task, one matches.
    won = EmailDelivery.objects.filter(claimable, pk=delivery.pk).update(
        status=EmailDelivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    return delivery if won else None


def confirmation_send(*, submission_id: str, causation_id: str | None = None) -> dict:
    """Send the confirmation unless it was sent already; then record EmailDispatched."""
    submission = Submission.objects.get(id=submission_id)
    delivery = _claim(submission)
    if delivery is None:
        current = EmailDelivery.objects.get(submission=submission)
        return {"sent": False, "status": current.status}
    message_id = confirmation_message_id(submission)
    message = confirmation_build(submission=submission)
    try:
        message.send(to=[submission.email])
    except Exception as exc:
        EmailDelivery.objects.filter(pk=delivery.pk).update(
            status=EmailDelivery.Status.PENDING, last_error=str(exc)[:1000]
        )
        raise
    with transaction.atomic():
        EmailDelivery.objects.filter(pk=delivery.pk).update(
            status=EmailDelivery.Status.SENT,
            sent_at=timezone.now(),
            message_id=message_id,
            last_error="",
        )
        outbox_record(
            event=EmailDispatched(
                submission_id=str(submission.id),
                recipient=submission.email,
                message_id=message_id,
            ),
            correlation_id=str(submission.correlation_id),
            causation_id=causation_id,
        )
    return {"sent": True, "status": EmailDelivery.Status.SENT}


@transaction.atomic
def confirmation_mark_failed(*, submission_id: str, reason: str, causation_id: str | None = None) -> None:
    """Record that the confirmation could not be sent after every retry."""
    submission = Submission.objects.get(id=submission_id)
    updated = (
        EmailDelivery.objects.filter(submission=submission)
        .exclude(status__in=(EmailDelivery.Status.SENT, EmailDelivery.Status.FAILED))
        .update(status=EmailDelivery.Status.FAILED, last_error=reason[:1000])
    )
    if updated:
        outbox_record(
            event=EmailFailed(submission_id=str(submission.id), recipient=submission.email, reason=reason[:500]),
            correlation_id=str(submission.correlation_id),
            causation_id=causation_id,
        )
