"""Sending the confirmation once per submission: the claim (a lease on its row), the send, and what a
failure means (a retry later, an outcome to wait for, or a final failure); the operator's re-sends.

The message is in mailer/message.py, SMTP sessions and time-outs in mailer/transport.py, the accepted
marks in mailer/marks.py, the retry delay and the per-recipient limit in mailer/policy.py."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from templated_mail.mail import BaseEmailMessage

from common.logs import correlation_id_set
from events import EmailDispatched, EmailFailed
from infra.metrics import EMAILS
from intake.models import Submission
from intake.services import event_emit
from mailer.lease import LEASES
from mailer.marks import accepted_before, accepted_mark
from mailer.message import confirmation_build, confirmation_message_id, recipient_key, without_address
from mailer.models import EmailDelivery
from mailer.policy import over_recipient_limit, retry_delay, smtp_failure_is_permanent
from mailer.transport import SendOutcomeUnknown, smtp_session, smtp_session_drop
from outbox.services import outbox_notify

logger = logging.getLogger(__name__)


def _claimable(now: datetime) -> Q:
    """Rows a worker may take: new, due for a retry, or held by a worker whose lease ran out."""
    lease = timedelta(seconds=settings.MAIL_LEASE_SECONDS)
    return (
        Q(status=EmailDelivery.Status.PENDING)
        | Q(status=EmailDelivery.Status.RETRYING, next_attempt_at__lte=now)
        | Q(status=EmailDelivery.Status.SENDING, claimed_at__lt=now - lease)
    )


def _claim(submission: Submission) -> EmailDelivery | None:
    with transaction.atomic():  # one short write transaction for the row and its claim
        delivery, _ = EmailDelivery.objects.get_or_create(
            submission=submission,
            defaults={"recipient": submission.email, "recipient_key": recipient_key(submission.email)},
        )
        now = timezone.now()
        # The conditional update is the lock: of two workers running the same task, one matches. The
        # claim is a lease: a worker that dies mid-send leaves it to expire, and the send is taken over.
        won = EmailDelivery.objects.filter(_claimable(now), pk=delivery.pk).update(
            status=EmailDelivery.Status.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            first_attempt_at=Coalesce(F("first_attempt_at"), Value(now)),  # the retry horizon starts once
        )
    if not won:
        return None
    delivery.refresh_from_db()
    return delivery


def _record_failure(delivery: EmailDelivery, exc: Exception, causation_id: str | None) -> dict:
    """After a failed send: RETRYING at a later time, or FAILED for good (permanent, or horizon over)."""
    reason = f"{type(exc).__name__}: {exc}"[:1000]
    now = timezone.now()
    horizon_over = delivery.first_attempt_at and now - delivery.first_attempt_at > timedelta(
        seconds=settings.MAIL_RETRY_HORIZON
    )
    if smtp_failure_is_permanent(exc) or horizon_over:
        confirmation_mark_failed(submission_id=str(delivery.submission_id), reason=reason, causation_id=causation_id)
        return {"sent": False, "status": EmailDelivery.Status.FAILED}
    next_attempt = now + timedelta(seconds=retry_delay(delivery.attempts))
    with transaction.atomic():
        EmailDelivery.objects.filter(pk=delivery.pk, status=EmailDelivery.Status.SENDING).update(
            status=EmailDelivery.Status.RETRYING, next_attempt_at=next_attempt, last_error=reason
        )
    outbox_notify(str(delivery.submission_id))  # no event, but the live view shows the next attempt
    EMAILS.labels("retrying").inc()
    logger.warning(
        "mail of submission %s not sent (%s); next attempt at %s",
        delivery.submission_id,
        without_address(reason, delivery.recipient),
        next_attempt,
    )
    return {"sent": False, "status": EmailDelivery.Status.RETRYING, "next_attempt_at": next_attempt.isoformat()}


def _record_unknown_outcome(delivery: EmailDelivery, exc: SendOutcomeUnknown) -> dict:
    """After a send whose answer never came: RETRYING, but not before MAIL_UNKNOWN_OUTCOME_WAIT, the
    window in which the server may still deliver what it took (sending again at once is how a
    visitor gets two emails)."""
    now = timezone.now()
    next_attempt = now + timedelta(seconds=settings.MAIL_UNKNOWN_OUTCOME_WAIT)
    reason = f"Outcome unknown: {exc}; the server may deliver it, so no new attempt before {next_attempt:%H:%M:%S} UTC"
    with transaction.atomic():
        EmailDelivery.objects.filter(pk=delivery.pk, status=EmailDelivery.Status.SENDING).update(
            status=EmailDelivery.Status.RETRYING,
            next_attempt_at=next_attempt,
            last_error=reason[:1000],
            outcome_unknown_at=now,
        )
    outbox_notify(str(delivery.submission_id))
    EMAILS.labels("outcome_unknown").inc()
    logger.warning("mail of submission %s: %s", delivery.submission_id, without_address(reason, delivery.recipient))
    return {"sent": False, "status": EmailDelivery.Status.RETRYING, "next_attempt_at": next_attempt.isoformat()}


def _send_and_note(message: BaseEmailMessage, submission: Submission) -> None:
    """Send; the moment the server has accepted the message, note it in Redis (before the database):
    a worker killed between the server's "250" and its database commit leaves this mark, and whoever
    takes over its expired claim records the send instead of sending a second email."""
    message.connection = smtp_session()
    try:
        message.send(to=[submission.email])
    except Exception:
        smtp_session_drop()  # the next send starts a new session
        raise
    accepted_mark(submission.id)


def confirmation_send(*, submission_id: str, causation_id: str | None = None) -> dict:
    """Send the confirmation unless it was sent already; then record EmailDispatched."""
    submission = Submission.objects.filter(id=submission_id).first()
    if submission is None:
        logger.warning("mail: no submission %s; nothing to send", submission_id)
        return {"sent": False, "status": "UNKNOWN_SUBMISSION"}
    correlation_id_set(submission.correlation_id)  # also when the task came without it (an older sender)
    delivery = _claim(submission)
    if delivery is None:
        current = EmailDelivery.objects.get(submission=submission)
        return {"sent": False, "status": current.status}
    if delivery.attempts == 1 and over_recipient_limit(delivery, timezone.now()):
        # The submission goes on (its lead is created); only the mail to that mailbox is held back.
        reason = (
            f"not sent: {settings.CONFIRMATIONS_PER_RECIPIENT} confirmations already went to this address "
            f"in the last {settings.CONFIRMATION_WINDOW.total_seconds() / 3600:g} h (CONFIRMATIONS_PER_RECIPIENT)"
        )
        confirmation_mark_failed(submission_id=str(submission.id), reason=reason, causation_id=causation_id)
        return {"sent": False, "status": EmailDelivery.Status.FAILED}
    with LEASES.held(delivery.pk):  # renewed while the send runs: a slow server does not lose the claim
        return _send_claimed(delivery, submission, causation_id)


def _send_claimed(delivery: EmailDelivery, submission: Submission, causation_id: str | None) -> dict:
    message_id = confirmation_message_id(submission)
    if not accepted_before(submission.id):  # a worker that died right after the server took it
        message = confirmation_build(submission=submission)
        try:
            _send_and_note(message, submission)
        except SendOutcomeUnknown as exc:
            return _record_unknown_outcome(delivery, exc)
        except Exception as exc:  # classified: a retry later, or a final failure with its reason
            return _record_failure(delivery, exc, causation_id)
    with transaction.atomic():
        EmailDelivery.objects.filter(pk=delivery.pk).update(
            status=EmailDelivery.Status.SENT,
            sent_at=timezone.now(),
            message_id=message_id,
            last_error="",
            next_attempt_at=None,
        )
        event_emit(
            event=EmailDispatched(submission_id=str(submission.id), message_id=message_id),
            correlation_id=str(submission.correlation_id),
            causation_id=causation_id,
        )
    EMAILS.labels("sent").inc()
    return {"sent": True, "status": EmailDelivery.Status.SENT}


def mail_due_ids(*, now: datetime, stalled_before: datetime | None = None, limit: int = 500) -> list[str]:
    """Submissions whose confirmation should be attempted now: a retry that is due, an expired lease,
    or a row still PENDING long after its submission (its task died before the first claim)."""
    due = EmailDelivery.objects.filter(_claimable(now)).exclude(status=EmailDelivery.Status.PENDING)
    if stalled_before is not None:
        due = due | EmailDelivery.objects.filter(
            status=EmailDelivery.Status.PENDING, submission__created_at__lt=stalled_before
        )
    return [str(pk) for pk in due.values_list("submission_id", flat=True)[:limit]]


def mail_retry_failed(*, submission_ids: list[str] | None = None) -> list[str]:
    """Operator action: send FAILED confirmations again, with a new retry horizon."""
    failed = EmailDelivery.objects.filter(status=EmailDelivery.Status.FAILED)
    if submission_ids is not None:
        failed = failed.filter(submission_id__in=submission_ids)
    ids = [str(pk) for pk in failed.values_list("submission_id", flat=True)]
    # Due now: the reconciler's next pass sends them (or a task sent by the caller, whichever is first).
    failed.filter(submission_id__in=ids).update(
        status=EmailDelivery.Status.RETRYING, first_attempt_at=None, next_attempt_at=timezone.now(), attempts=0
    )
    return ids


@transaction.atomic
def confirmation_mark_failed(*, submission_id: str, reason: str, causation_id: str | None = None) -> None:
    """Record that the confirmation cannot be sent (refused for good, or the retry horizon is over)."""
    submission = Submission.objects.get(id=submission_id)
    updated = (
        EmailDelivery.objects.filter(submission=submission)
        .exclude(status__in=EmailDelivery.FINAL_STATUSES)
        .update(status=EmailDelivery.Status.FAILED, last_error=reason[:1000], next_attempt_at=None)
    )
    if updated:
        event_emit(
            event=EmailFailed(submission_id=str(submission.id), reason=without_address(reason, submission.email)[:500]),
            correlation_id=str(submission.correlation_id),
            causation_id=causation_id,
        )
        transaction.on_commit(EMAILS.labels("failed").inc)
