"""The confirmation over a real SMTP conversation with a server that stalls where real ones do.

RFC 1047: a server that has taken the whole message but is slow to answer the final dot must not get
it twice. RFC 5321 §4.5.3.2 gives that reply minutes (SMTP_DATA_TIMEOUT), unlike the connect and the
greeting (SMTP_TIMEOUT); and a send whose answer never came is recorded as of unknown outcome and held
back for MAIL_UNKNOWN_OUTCOME_WAIT instead of being sent again at once.
"""

import asyncio
import threading
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from common.defaults import DEFAULTS
from mailer.models import EmailDelivery
from mailer.services import confirmation_send, mail_due_ids
from tests.servers import free_port, wait_until
from tests.unit.factories import SubmissionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class SlowToAnswer:
    """Takes each message at the final dot, then waits `stall` seconds (the first message only)
    before it answers 250: the message is the server's from the dot on, answered or not."""

    def __init__(self, stall: float):
        self.stall = stall
        self.messages: list[bytes] = []
        self.finished = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        stall, self.stall = self.stall, 0.0
        try:
            await asyncio.sleep(stall)  # aiosmtpd cancels this when the client hangs up: the message stays
        finally:
            self.finished.set()
        return "250 2.0.0 queued"


@pytest.fixture
def slow_server(settings):
    servers = []

    def start(stall: float) -> SlowToAnswer:
        handler = SlowToAnswer(stall)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        servers.append(controller)
        # The production backend (test settings use locmem), against this server.
        settings.EMAIL_BACKEND = DEFAULTS["DJANGO_EMAIL_BACKEND"]
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        return handler

    yield start
    for controller in servers:
        controller.stop()


def redrive(submission) -> dict:
    """What the reconciler does for a due delivery: the task again."""
    return confirmation_send(submission_id=str(submission.id))


def test_a_server_slow_to_answer_the_final_dot_gets_the_message_once(slow_server, settings):
    # The old single 10 s time-out, scaled down: the reply to the dot comes after it.
    settings.EMAIL_TIMEOUT = 1
    settings.SMTP_DATA_TIMEOUT = 30
    server = slow_server(stall=3.0)
    submission = SubmissionFactory()

    result = confirmation_send(submission_id=str(submission.id))
    wait_until(server.finished.is_set, timeout=30, what="the server to finish with the first message")
    # Whatever the first attempt concluded, every re-drive that follows must send nothing more.
    EmailDelivery.objects.filter(status=EmailDelivery.Status.RETRYING).update(next_attempt_at=timezone.now())
    redrive(submission)

    assert len(server.messages) == 1, f"{len(server.messages)} copies; the first attempt said {result}"
    assert result["status"] == "SENT", result
    delivery = EmailDelivery.objects.get(submission=submission)
    assert (delivery.status, delivery.attempts) == (EmailDelivery.Status.SENT, 1)


def test_an_answer_that_never_comes_is_an_unknown_outcome_held_back_for_its_window(slow_server, settings):
    settings.EMAIL_TIMEOUT = 1
    settings.SMTP_DATA_TIMEOUT = 1  # shorter than the stall: the answer to the dot never arrives in time
    settings.MAIL_UNKNOWN_OUTCOME_WAIT = 600
    server = slow_server(stall=3.0)
    submission = SubmissionFactory()

    before = timezone.now()
    result = confirmation_send(submission_id=str(submission.id))

    assert result["status"] == EmailDelivery.Status.RETRYING
    delivery = EmailDelivery.objects.get(submission=submission)
    assert delivery.outcome_unknown_at is not None
    assert delivery.next_attempt_at >= before + timedelta(seconds=600)
    assert "outcome unknown" in delivery.last_error.lower()
    # Within the window: the reconciler does not list it, and a task that comes anyway sends nothing.
    assert str(submission.id) not in mail_due_ids(now=timezone.now())
    assert redrive(submission)["sent"] is False
    wait_until(server.finished.is_set, timeout=30, what="the server to finish with the message")
    assert len(server.messages) == 1

    # After the window it is sent again: the remaining risk, a second copy with the same Message-ID.
    EmailDelivery.objects.update(next_attempt_at=timezone.now())
    assert str(submission.id) in mail_due_ids(now=timezone.now())
    assert redrive(submission)["status"] == EmailDelivery.Status.SENT
    first, second = (message_from_bytes(raw)["Message-ID"].strip() for raw in server.messages)
    assert first == second == f"<confirmation.{submission.id}@event-driven-poc.com>"
