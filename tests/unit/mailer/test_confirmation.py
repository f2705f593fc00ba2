import pytest
from django.core import mail

from mailer.models import EmailDelivery
from mailer.services import confirmation_send
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
    assert message.subject == "We received your message, Bob <b>"
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


def test_failed_smtp_leaves_the_email_to_be_retried(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens
    submission = SubmissionFactory()
    with pytest.raises(OSError):
        confirmation_send(submission_id=str(submission.id))
    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.PENDING and delivery.last_error
    assert not OutboxEvent.objects.filter(event_type="EmailDispatched").exists()


def test_an_email_that_fails_for_good_is_marked_and_reported_once():
    submission = SubmissionFactory()
    EmailDelivery.objects.create(submission=submission, recipient=submission.email)
    error = ConnectionRefusedError("SMTP server refused")
    for _ in range(2):
        send_confirmation.on_failure(error, "task-id", (str(submission.id),), {}, None)
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.FAILED
    [failed] = OutboxEvent.objects.filter(event_type="EmailFailed")
    assert "SMTP server refused" in failed.payload
