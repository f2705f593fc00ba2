"""When to send again and when not to send: the retry delay, which SMTP failures are final, and the
per-recipient limit."""

import random
import smtplib
from datetime import datetime

from django.conf import settings
from django.db.models import Q

from mailer.models import EmailDelivery


def smtp_failure_is_permanent(exc: Exception) -> bool:
    """A 5xx answer about this message or recipient is final; no answer, a time-out or a 4xx is not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return not isinstance(exc, (smtplib.SMTPException, OSError))


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt: doubling from 2 s, capped, with ±20 % jitter."""
    base = min(settings.MAIL_RETRY_BACKOFF_MAX, 2 ** max(1, attempts))
    return base * random.uniform(0.8, 1.2)  # noqa: S311 (spreading retries, not security)


def over_recipient_limit(delivery: EmailDelivery, now: datetime) -> bool:
    """Whether this mailbox has had CONFIRMATIONS_PER_RECIPIENT confirmations (sent or being sent) lately."""
    since = now - settings.CONFIRMATION_WINDOW
    others = EmailDelivery.objects.filter(recipient_key=delivery.recipient_key).exclude(pk=delivery.pk)
    recent = others.filter(
        Q(status=EmailDelivery.Status.SENT, sent_at__gte=since)
        | Q(status__in=(EmailDelivery.Status.SENDING, EmailDelivery.Status.RETRYING), first_attempt_at__gte=since)
    )
    return recent.count() >= settings.CONFIRMATIONS_PER_RECIPIENT
