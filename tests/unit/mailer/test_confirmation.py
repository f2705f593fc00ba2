import io
import smtplib
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from config.celery import app
from mailer import marks as accepted_marks
from mailer.management.commands import retry_mail
from mailer.models import EmailDelivery
from mailer.policy import retry_delay, smtp_failure_is_permanent
from mailer.services import confirmation_send, mail_due_ids, mail_retry_failed
from mailer.tasks import send_confirmation
from outbox.models import OutboxEvent
from tests.unit.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def test_confirmation_has_text_and_html_with_the_input_escaped_in_html_only():
    submission = SubmissionFactory(name="Bob <b>", message="1 < 2 & <script>alert(1)</script>")
    result = send_confirmation.delay(str(submission.id)).get()
    assert result == {"sent": True, "status": "SENT"}
    [message] = mail.outbox
    assert message.to == [submission.email]
    assert message.subject == "We received your message"
    assert "1 < 2 & <script>alert(1)</script>" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "1 &lt; 2 &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert message.extra_headers["Message-ID"] == f"<confirmation.{submission.id}@event-driven-poc.com>"


def test_second_delivery_sends_no_second_email():
    submission = SubmissionFactory()
    confirmation_send(submission_id=str(submission.id))
    again = confirmation_send(submission_id=str(submission.id))
    assert again == {"sent": False, "status": "SENT"}
    assert len(mail.outbox) == 1
    assert OutboxEvent.objects.filter(event_type="EmailDispatched").count() == 1


def test_a_send_in_progress_elsewhere_is_not_repeated():
    submission = SubmissionFactory()
    confirmation_send(submission_id=str(submission.id))
    EmailDelivery.objects.update(status=EmailDelivery.Status.PENDING)
    EmailDelivery.objects.update(status=EmailDelivery.Status.SENDING)  # another worker holds the claim
    from django.utils import timezone

    EmailDelivery.objects.update(claimed_at=timezone.now())
    assert confirmation_send(submission_id=str(submission.id)) == {"sent": False, "status": "SENDING"}
    assert len(mail.outbox) == 1


def unreachable_smtp(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens


def test_an_unreachable_smtp_server_schedules_a_retry_with_the_reason(settings):
    unreachable_smtp(settings)
    submission = SubmissionFactory()
    before = timezone.now()
    result = confirmation_send(submission_id=str(submission.id))
    delivery = EmailDelivery.objects.get()
    assert result["status"] == delivery.status == EmailDelivery.Status.RETRYING
    assert "ConnectionRefusedError" in delivery.last_error
    assert before + timedelta(seconds=1) < delivery.next_attempt_at < before + timedelta(seconds=3)
    assert not OutboxEvent.objects.filter(event_type__in=("EmailDispatched", "EmailFailed")).exists()
    # Not due yet: a repeat of the task does nothing; once due, the send is attempted again.
    assert confirmation_send(submission_id=str(submission.id))["status"] == EmailDelivery.Status.RETRYING
    assert EmailDelivery.objects.get().attempts == 1
    assert mail_due_ids(now=delivery.next_attempt_at) == [str(submission.id)]


def test_retries_back_off_up_to_the_cap():
    delays = [retry_delay(attempt) for attempt in range(1, 12)]
    assert 1.6 <= delays[0] <= 2.4 and all(delay <= 60 * 1.2 for delay in delays)
    assert delays[-1] >= 60 * 0.8


def test_the_retry_horizon_ends_in_one_email_failed(settings):
    unreachable_smtp(settings)
    submission = SubmissionFactory()
    EmailDelivery.objects.create(
        submission=submission,
        recipient=submission.email,
        status=EmailDelivery.Status.RETRYING,
        first_attempt_at=timezone.now() - timedelta(seconds=settings.MAIL_RETRY_HORIZON + 1),
        next_attempt_at=timezone.now(),
    )
    assert confirmation_send(submission_id=str(submission.id))["status"] == EmailDelivery.Status.FAILED
    [failed] = OutboxEvent.objects.filter(event_type="EmailFailed")
    assert "ConnectionRefusedError" in failed.payload


def test_a_permanent_refusal_fails_at_once_and_a_4xx_does_not():
    refused = smtplib.SMTPRecipientsRefused({"a@b.org": (550, b"no such user")})
    busy = smtplib.SMTPRecipientsRefused({"a@b.org": (451, b"try later")})
    assert smtp_failure_is_permanent(refused) and smtp_failure_is_permanent(smtplib.SMTPDataError(554, b"spam"))
    assert not smtp_failure_is_permanent(busy) and not smtp_failure_is_permanent(ConnectionRefusedError())
    assert not smtp_failure_is_permanent(smtplib.SMTPServerDisconnected("gone"))


def test_a_dead_workers_claim_is_taken_over_after_its_lease(settings):
    submission = SubmissionFactory()
    stale = timezone.now() - timedelta(seconds=settings.MAIL_LEASE_SECONDS + 1)
    EmailDelivery.objects.create(
        submission=submission, recipient=submission.email, status=EmailDelivery.Status.SENDING, claimed_at=stale
    )
    assert mail_due_ids(now=timezone.now()) == [str(submission.id)]
    assert confirmation_send(submission_id=str(submission.id)) == {"sent": True, "status": "SENT"}
    assert len(mail.outbox) == 1


def test_an_operator_sends_failed_mail_again():
    submission = SubmissionFactory()
    EmailDelivery.objects.create(
        submission=submission, recipient=submission.email, status=EmailDelivery.Status.FAILED, attempts=4
    )
    assert mail_retry_failed() == [str(submission.id)]
    assert confirmation_send(submission_id=str(submission.id))["sent"] is True
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT and len(mail.outbox) == 1


def test_an_event_for_an_unknown_submission_sends_nothing():
    assert send_confirmation(str(uuid.uuid4())) == {"sent": False, "status": "UNKNOWN_SUBMISSION"}
    assert not EmailDelivery.objects.exists() and not mail.outbox


class MarkStore:
    """Redis's SET/EXISTS for the accepted-mail marks."""

    def __init__(self):
        self.keys = set()

    def set(self, key, value, ex=None):
        self.keys.add(key)

    def exists(self, key):
        return key in self.keys


def test_a_send_the_server_accepted_before_its_worker_died_is_recorded_not_repeated(settings, monkeypatch):
    marks = MarkStore()
    monkeypatch.setattr(accepted_marks, "_marks", lambda: marks)
    submission = SubmissionFactory()
    confirmation_send(submission_id=str(submission.id))
    assert len(mail.outbox) == 1 and marks.keys == {f"mail:accepted:{submission.id}"}

    # The worker "died" after the server's 250: the row is still SENDING, its lease has run out.
    stale = timezone.now() - timedelta(seconds=settings.MAIL_LEASE_SECONDS + 1)
    EmailDelivery.objects.update(status=EmailDelivery.Status.SENDING, claimed_at=stale, sent_at=None)
    OutboxEvent.objects.filter(event_type="EmailDispatched").delete()
    assert confirmation_send(submission_id=str(submission.id)) == {"sent": True, "status": "SENT"}
    assert len(mail.outbox) == 1  # no second email
    assert OutboxEvent.objects.filter(event_type="EmailDispatched").count() == 1


def test_the_retry_mail_command_resends_through_the_projects_celery_app(monkeypatch):
    sent = []
    monkeypatch.setattr(retry_mail, "mail_send", lambda celery, submission_id: sent.append((celery, submission_id)))
    submission = SubmissionFactory()
    EmailDelivery.objects.create(submission=submission, recipient=submission.email, status=EmailDelivery.Status.FAILED)
    out = io.StringIO()
    call_command("retry_mail", stdout=out)
    assert sent == [(app, str(submission.id))]
    assert "1 email(s) sent to the mailer again" in out.getvalue()
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.RETRYING
