"""A send's claim is renewed while it runs, and only while it runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mailer.lease import LeaseKeeper
from mailer.models import EmailDelivery
from mailer.services import mail_due_ids
from tests.unit.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def claimed(seconds_ago: float) -> EmailDelivery:
    submission = SubmissionFactory()
    return EmailDelivery.objects.create(
        submission=submission,
        recipient=submission.email,
        status=EmailDelivery.Status.SENDING,
        claimed_at=timezone.now() - timedelta(seconds=seconds_ago),
        attempts=1,
    )


def test_a_held_claim_is_renewed_and_stays_off_the_due_list(settings):
    settings.MAIL_LEASE_SECONDS = 10
    keeper = LeaseKeeper()
    slow_send, dead_worker = claimed(seconds_ago=9), claimed(seconds_ago=9)
    with keeper.held(slow_send.pk):
        assert keeper.renew() == 1
        later = timezone.now() + timedelta(seconds=5)  # both claims would have run out by now
        assert mail_due_ids(now=later) == [str(dead_worker.submission_id)]
    assert keeper.renew() == 0  # released with its block: nothing is held any more


def test_a_claim_taken_over_or_finished_is_not_renewed():
    keeper = LeaseKeeper()
    sent = claimed(seconds_ago=1)
    EmailDelivery.objects.filter(pk=sent.pk).update(status=EmailDelivery.Status.SENT)
    with keeper.held(sent.pk):
        assert keeper.renew() == 0
