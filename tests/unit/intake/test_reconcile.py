"""The reconciler re-drives stalled work at the level where it was lost, once per stall period."""

from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from intake.models import TimelineEntry
from intake.services import submission_create
from mailer.models import EmailDelivery
from outbox.models import OutboxEvent
from pipeline.reconcile import Reconciler
from workflow.models import SagaRun

pytestmark = pytest.mark.django_db


class FakeRedis:
    """SET NX EX semantics without expiry (a test tick is far shorter than any guard)."""

    def __init__(self, queued: int = 0, mail_queued: int = 0):
        self.keys = {}
        self.queued = queued
        self.mail_queued = mail_queued

    def llen(self, queue):
        return self.queued if queue == "workflow" else self.mail_queued  # the saga's queue holds the backlog

    def set(self, key, value, nx=False, ex=None):
        if nx and key in self.keys:
            return None
        self.keys[key] = value
        return True


class RecordingCelery(Celery):
    """A real app (chains need its configuration) whose sends are recorded instead of queued."""

    def __init__(self):
        super().__init__("recording", set_as_current=False)
        self.sent = []

    def send_task(self, name, args=None, kwargs=None, **options):
        self.sent.append((name, list(args)))


def reconciler(queued: int = 0, mail_queued: int = 0):
    return Reconciler(redis_client=FakeRedis(queued, mail_queued), celery=RecordingCelery())


def accepted(minutes_ago: int, *, published: bool):
    submission = submission_create(name="Ada", email="ada@example.org", message="Hi")
    then = timezone.now() - timedelta(minutes=minutes_ago)
    submission.__class__.objects.filter(pk=submission.pk).update(created_at=then)
    OutboxEvent.objects.filter(key=str(submission.id)).update(created_at=then, published_at=then if published else None)
    return submission


def test_a_published_submission_no_task_picked_up_gets_its_tasks_once():
    submission = accepted(5, published=True)
    event_id = str(OutboxEvent.objects.get(key=str(submission.id)).id)
    rec = reconciler()
    assert rec.run_once(stall_seconds=60)["handoffs"] == 1
    assert rec.celery.sent == [
        ("mailer.send_confirmation", [str(submission.id), event_id]),
        ("workflow.tag_lead", [str(submission.id)]),  # the saga's chain, its first step starting the run
    ]
    assert rec.run_once(stall_seconds=60)["handoffs"] == 0  # waits a stall period before repeating


def test_only_the_missing_half_of_a_hand_off_is_sent_again():
    submission = accepted(5, published=True)
    EmailDelivery.objects.create(submission=submission, recipient=submission.email, status="SENT")
    rec = reconciler()
    rec.run_once(stall_seconds=60)
    assert [name for name, _ in rec.celery.sent] == ["workflow.tag_lead"]


def test_recent_or_unpublished_work_is_left_alone_and_the_relay_is_woken_for_old_unpublished_rows():
    accepted(0, published=True)  # recent: its tasks may be on their way
    accepted(5, published=False)  # still in the outbox: the relay's part
    counts = reconciler().run_once(stall_seconds=60)
    assert counts["handoffs"] == 0 and counts["relay_woken"] == 1


def test_a_due_email_retry_is_sent():
    submission = accepted(5, published=True)
    SagaRun.objects.create(submission=submission)
    EmailDelivery.objects.create(
        submission=submission,
        recipient=submission.email,
        status=EmailDelivery.Status.RETRYING,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )
    rec = reconciler()
    assert rec.run_once(stall_seconds=60)["emails"] == 1
    assert ("mailer.send_confirmation", [str(submission.id), None]) in rec.celery.sent


def test_an_email_row_left_pending_by_a_dead_task_is_sent_again():
    submission = accepted(5, published=True)
    SagaRun.objects.create(submission=submission)
    EmailDelivery.objects.create(submission=submission, recipient=submission.email)  # never claimed
    rec = reconciler()
    assert rec.run_once(stall_seconds=60)["emails"] == 1
    assert reconciler().run_once(stall_seconds=600)["emails"] == 0  # younger than the stall: left alone


def test_under_a_backlog_nothing_is_sent_again_only_the_relay_is_woken(settings):
    accepted(5, published=True)
    rec = reconciler(queued=settings.RECONCILE_BACKLOG_LIMIT + 1)
    counts = rec.run_once(stall_seconds=60)
    assert counts["deferred_for_backlog"] == settings.RECONCILE_BACKLOG_LIMIT + 1
    assert rec.celery.sent == []


def published_seconds_ago(seconds: int, *, handed_over: bool = True):
    """A submission published `seconds` ago and (unless told otherwise) handed to Celery by the bridge then."""
    submission = accepted(0, published=True)
    then = timezone.now() - timedelta(seconds=seconds)
    OutboxEvent.objects.filter(key=str(submission.id)).update(published_at=then)
    submission.__class__.objects.filter(pk=submission.pk).update(created_at=then)
    if handed_over:
        TimelineEntry.objects.filter(submission=submission, event_type="ContactFormSubmitted").update(delivered_at=then)
    return submission


def test_an_email_task_lost_with_a_dead_worker_is_sent_again_within_seconds_when_the_mail_queue_is_idle(settings):
    settings.RECONCILE_MAIL_HANDOFF_SECONDS = 5
    lost = published_seconds_ago(8)
    published_seconds_ago(2)  # its task may be starting right now
    rec = reconciler()
    assert rec.run_once(stall_seconds=60)["handoffs"] == 1
    event_id = str(OutboxEvent.objects.get(key=str(lost.id)).id)
    assert rec.celery.sent == [("mailer.send_confirmation", [str(lost.id), event_id])]  # the saga is not stalled
    assert rec.run_once(stall_seconds=60)["handoffs"] == 0  # once per stall period


def test_with_mail_queued_a_missing_email_row_waits_for_the_stall_time(settings):
    settings.RECONCILE_MAIL_HANDOFF_SECONDS = 5
    published_seconds_ago(8)
    rec = reconciler(mail_queued=3)  # its task may be among those queued
    assert rec.run_once(stall_seconds=60)["handoffs"] == 0
    assert rec.celery.sent == []


def test_what_the_bridge_has_not_handed_over_waits_for_the_stall_time(settings):
    settings.RECONCILE_MAIL_HANDOFF_SECONDS = 5
    published_seconds_ago(30, handed_over=False)  # the bridge is down: its lag shows it, nothing is lost
    rec = reconciler()
    assert rec.run_once(stall_seconds=60)["handoffs"] == 0
    assert rec.run_once(stall_seconds=20)["handoffs"] == 1  # past the stall time, as ever
