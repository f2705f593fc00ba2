"""The confirmation cannot be turned into a spam relay: a fixed subject, no clickable visitor text,
and a limit on confirmations per mailbox (finding 3 of "Safe by default")."""

import email
import json
from email import policy

import pytest
from django.core import mail

from mailer.defang import defang
from mailer.message import recipient_key
from mailer.models import EmailDelivery
from mailer.services import confirmation_send
from outbox.models import OutboxEvent
from tests.unit.factories import SubmissionFactory

pytestmark = pytest.mark.django_db

PHISH = "Ada</b> visit http://phish.example"
ENCODED_WORD = "=?utf-8?q?Ada=0D=0ABcc=3A_victim=40evil=2Etest?="


def sent_for(**fields):
    submission = SubmissionFactory(**fields)
    assert confirmation_send(submission_id=str(submission.id))["sent"] is True
    return mail.outbox[-1]


def test_the_subject_carries_no_visitor_text():
    message = sent_for(name=PHISH, company="http://evil.example")
    assert message.subject == "We received your message"
    headers = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    assert "phish" not in str(headers["Subject"]) and "Ada" not in str(headers["Subject"])


def test_a_name_written_as_an_encoded_word_adds_no_header():
    message = sent_for(name=ENCODED_WORD)
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    assert parsed["Subject"] == "We received your message"
    assert [str(a) for a in parsed["To"].addresses] == [message.to[0]]


def test_links_in_visitor_text_are_not_clickable_in_text_or_html():
    message = sent_for(name=PHISH, message="Go to https://bank.example/login or www.evil.example now")
    html, _ = message.alternatives[0]
    for body in (message.body, html):
        assert "http://" not in body and "https://" not in body and "www.evil" not in body
        assert "phish[.]example" in body and "bank[.]example/login" in body
        assert "<a " not in body
    assert "hxxp[://]phish[.]example" in message.body


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("see http://x.example/a", "see hxxp[://]x[.]example/a"),
        ("write to bob@mail.example.org", "write to bob@mail[.]example[.]org"),
        ("javascript:alert(1)", "javascript[:]alert(1)"),
        ("Ratio 1:2 at 10:30. Note: e.g. 3.5 units", "Ratio 1:2 at 10:30. Note: e.g. 3.5 units"),
        ("visit phish\u3002example now", "visit phish[.]example now"),  # ideographic full stop
        ("visit phish\uff0eexample", "visit phish[.]example"),  # full-width full stop
        ("hxxp: ht\u00adtps://ph\u00adish.example", "hxxp: hxxps[://]phish[.]example"),  # soft hyphens
        ("www\u200b.evil\u200b.example", "www[.]evil[.]example"),  # zero-width spaces
    ],
)
def test_defang_breaks_links_and_leaves_ordinary_text(typed, shown):
    assert defang(typed) == shown


def test_recipient_key_ignores_case_and_plus_tags():
    assert recipient_key("Victim+1@Evil.Test") == recipient_key("victim@evil.test") == "victim@evil.test"


@pytest.mark.parametrize(
    "spelling",
    [
        '"victim"@evil.test',
        '"vic\\tim"@evil.test',
        '"\\v\\i\\c\\t\\i\\m"@EVIL.test',
        "victim@evil.test.",
        '"Victim+x"@evil.test',
    ],
)
def test_quoted_local_parts_and_quoted_pairs_are_the_same_mailbox(spelling):
    assert recipient_key(spelling) == "victim@evil.test"


def test_a_unicode_domain_and_its_punycode_are_the_same_mailbox():
    assert (
        recipient_key("ada@bücher.example") == recipient_key("ada@xn--bcher-kva.example") == "ada@xn--bcher-kva.example"
    )
    assert recipient_key("ada@BÜCHER.example") == "ada@xn--bcher-kva.example"


def test_the_confirmation_quotes_only_the_start_of_a_long_message():
    message = sent_for(message="x" * 4000 + "PAYLOAD")
    html, _ = message.alternatives[0]
    for body in (message.body, html):
        assert "x" * 500 in body and "x" * 501 not in body and "PAYLOAD" not in body and "[…]" in body


def test_a_mailbox_gets_at_most_the_configured_confirmations(settings):
    settings.CONFIRMATIONS_PER_RECIPIENT = 2
    addresses = ["victim@evil.test", "VICTIM+a@evil.test", "victim+b@evil.test", "other@evil.test"]
    results = [confirmation_send(submission_id=str(SubmissionFactory(email=a).id)) for a in addresses]
    assert [r["sent"] for r in results] == [True, True, False, True]
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["victim@evil.test", "VICTIM+a@evil.test", "other@evil.test"])
    held = EmailDelivery.objects.get(recipient="victim+b@evil.test")
    assert held.status == EmailDelivery.Status.FAILED
    assert "CONFIRMATIONS_PER_RECIPIENT" in held.last_error
    failed = OutboxEvent.objects.get(event_type="EmailFailed")
    assert "confirmations already went to this address" in json.loads(failed.payload)["data"]["reason"]
