"""Personal data is not kept for ever: finished submissions older than the retention are deleted with
everything about them; work in flight and unpublished events are never touched."""

import io
import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from crm.models import CrmLead
from events import EmailDispatched, WorkflowCompleted, WorkflowStepCompleted
from intake.models import Submission, TimelineEntry
from intake.services import event_emit, submission_create
from mailer.models import EmailDelivery
from outbox.models import OutboxEvent
from pipeline import retention
from pipeline.reconcile import Reconciler
from pipeline.retention import BATCHES, KEPT, submissions_purge
from workflow.models import Lead, SagaRun, SagaStep

pytestmark = pytest.mark.django_db

SENT, FAILED = EmailDelivery.Status.SENT, EmailDelivery.Status.FAILED
COMPLETED = SagaRun.Status.COMPLETED


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def submission(age_days: float, *, email=SENT, saga=COMPLETED, published: bool = True) -> Submission:
    """A submission `age_days` old with its email row, saga run, steps, lead and events (email=None or
    saga=None: that part never started)."""
    sub = submission_create(name="Ada", email="ada@example.org", message="Hi")
    key, correlation = str(sub.id), str(sub.correlation_id)
    with transaction.atomic():
        if email is not None:
            EmailDelivery.objects.create(submission=sub, recipient=sub.email, status=email)
            event_emit(
                event=EmailDispatched(submission_id=key, message_id="<m>"),
                correlation_id=correlation,
            )
        if saga is not None:
            run = SagaRun.objects.create(submission=sub, status=saga)
            SagaStep.objects.create(run=run, name="tag_lead", result={"tags": ["web-form"]})
            Lead.objects.create(submission=sub, tags=["web-form"], owner="alice@sales.example", crm_lead_id="c-1")
            event_emit(event=WorkflowStepCompleted(submission_id=key, step="tag_lead"), correlation_id=correlation)
            event_emit(
                event=WorkflowCompleted(submission_id=key, owner="alice@sales.example", crm_lead_id="c-1"),
                correlation_id=correlation,
            )
    then = days_ago(age_days)
    Submission.objects.filter(pk=sub.pk).update(created_at=then)
    OutboxEvent.objects.filter(key=key).update(created_at=then, published_at=then if published else None)
    return sub


def rows_about(sub: Submission) -> dict[str, int]:
    return {
        "submission": Submission.objects.filter(pk=sub.pk).count(),
        "timeline": TimelineEntry.objects.filter(submission_id=sub.pk).count(),
        "email": EmailDelivery.objects.filter(submission_id=sub.pk).count(),
        "saga": SagaRun.objects.filter(submission_id=sub.pk).count(),
        "steps": SagaStep.objects.filter(run__submission_id=sub.pk).count(),
        "lead": Lead.objects.filter(submission_id=sub.pk).count(),
        "outbox": OutboxEvent.objects.filter(key=str(sub.pk)).count(),
    }


GONE = dict.fromkeys(["submission", "timeline", "email", "saga", "steps", "lead", "outbox"], 0)


def purge(**kwargs) -> dict[str, int]:
    return submissions_purge(older_than=days_ago(90), **kwargs)


def test_an_old_finished_submission_goes_with_everything_about_it():
    old = submission(100)
    counts = purge()
    assert rows_about(old) == GONE
    assert counts == {
        "intake.Submission": 1,
        "intake.TimelineEntry": 4,  # submitted, email dispatched, step completed, workflow completed
        "mailer.EmailDelivery": 1,
        "workflow.SagaRun": 1,
        "workflow.SagaStep": 1,
        "workflow.Lead": 1,
        "outbox.OutboxEvent": 4,
        KEPT: 0,
        BATCHES: 1,
    }


@pytest.mark.parametrize(
    "email, saga",
    [
        (FAILED, COMPLETED),  # FAILED also stands for a confirmation the per-recipient limit held back
        (SENT, SagaRun.Status.COMPENSATED),
        (FAILED, SagaRun.Status.COMPENSATION_FAILED),
    ],
)
def test_every_final_state_is_purged(email, saga):
    old = submission(100, email=email, saga=saga)
    purge()
    assert rows_about(old) == GONE


def test_a_recent_finished_submission_stays():
    recent = submission(30)
    before = rows_about(recent)
    assert purge()["intake.Submission"] == 0
    assert rows_about(recent) == before


@pytest.mark.parametrize(
    "email, saga",
    [
        (EmailDelivery.Status.RETRYING, COMPLETED),
        (EmailDelivery.Status.SENDING, COMPLETED),
        (EmailDelivery.Status.PENDING, COMPLETED),
        (SENT, SagaRun.Status.RUNNING),
        (SENT, SagaRun.Status.COMPENSATING),
        (None, COMPLETED),  # its mail task never ran
        (SENT, None),  # its saga never started
        (None, None),
    ],
)
def test_an_old_submission_still_in_flight_stays_and_is_counted_as_kept(email, saga, caplog):
    stuck = submission(100, email=email, saga=saga)
    before = rows_about(stuck)
    with caplog.at_level(logging.WARNING, logger="pipeline.retention"):
        counts = purge()
    assert rows_about(stuck) == before
    assert counts[KEPT] == 1 and counts["intake.Submission"] == 0
    assert "not final" in caplog.text


def test_an_unpublished_event_keeps_its_submission_and_its_outbox_rows():
    waiting = submission(100, published=False)
    OutboxEvent.objects.filter(key=str(waiting.pk), event_type="ContactFormSubmitted").update(
        published_at=days_ago(100)
    )
    before = rows_about(waiting)
    counts = purge()
    assert rows_about(waiting) == before
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 3
    assert counts[KEPT] == 1 and counts["outbox.OutboxEvent"] == 0


def test_published_rows_of_a_submission_deleted_by_hand_go_but_unpublished_ones_stay():
    deleted_by_hand = submission(100)
    unsent = submission(100, published=False)
    Submission.objects.filter(pk__in=[deleted_by_hand.pk, unsent.pk]).delete()  # as the admin does
    counts = purge()
    assert counts["outbox.OutboxEvent"] == 4
    assert not OutboxEvent.objects.filter(key=str(deleted_by_hand.pk)).exists()
    assert OutboxEvent.objects.filter(key=str(unsent.pk)).count() == 4


def test_a_dry_run_deletes_nothing_and_counts_what_would_go():
    old, recent, stuck = submission(100), submission(10), submission(100, email=EmailDelivery.Status.RETRYING)
    before = [rows_about(sub) for sub in (old, recent, stuck)]
    dry = purge(dry_run=True)
    assert [rows_about(sub) for sub in (old, recent, stuck)] == before
    assert dry == purge()  # the real run deletes exactly what the dry run counted
    assert dry["intake.Submission"] == 1 and dry["outbox.OutboxEvent"] == 4 and dry[KEPT] == 1
    assert rows_about(old) == GONE


def test_a_purge_larger_than_a_batch_runs_batch_by_batch():
    subs = [submission(100) for _ in range(5)]
    with mock.patch("pipeline.retention._batch_purge", wraps=retention._batch_purge) as batch:
        counts = purge(batch_size=2)
    assert [len(call.args[0]) for call in batch.call_args_list] == [2, 2, 1]  # one transaction each
    assert counts[BATCHES] == 3 and counts["intake.Submission"] == 5
    assert all(rows_about(sub) == GONE for sub in subs)


def test_a_pass_limited_to_some_batches_leaves_the_rest_for_the_next():
    for _ in range(5):
        submission(100)
    assert purge(batch_size=2, max_batches=1)["intake.Submission"] == 2
    assert Submission.objects.count() == 3
    assert purge(batch_size=2)["intake.Submission"] == 3


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("purge", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_what_it_deleted_per_model():
    old = submission(100)
    submission(100, saga=SagaRun.Status.RUNNING)
    output = run_command()
    assert "intake.Submission: 1" in output and "outbox.OutboxEvent: 4" in output
    assert "workflow.SagaStep: 1" in output
    assert "kept, not final: 1" in output
    assert rows_about(old) == GONE


def test_the_command_dry_run_only_counts():
    old = submission(100)
    output = run_command("--dry-run")
    assert "would be deleted" in output and "intake.Submission: 1" in output
    assert rows_about(old)["submission"] == 1


def test_the_command_uses_days_given_over_the_setting(settings):
    settings.DATA_RETENTION_DAYS = 90
    sub = submission(40)
    assert "intake.Submission: 0" in run_command()
    assert "intake.Submission: 1" in run_command("--days", "30")
    assert rows_about(sub) == GONE


def test_a_retention_of_0_days_purges_nothing(settings):
    old = submission(1000)
    assert "off" in run_command("--days", "0")
    settings.DATA_RETENTION_DAYS = 0
    assert "off" in run_command()
    assert rows_about(old)["submission"] == 1


def test_the_crm_purges_its_own_leads_older_than_the_cutoff_not_the_pipelines_purge(settings):
    fields = {"name": "Ada", "email": "ada@example.org", "owner": "alice@sales.example"}
    old = [CrmLead.objects.create(external_id=f"old-{n}", **fields) for n in range(3)]
    recent = CrmLead.objects.create(external_id="recent", **fields)
    CrmLead.objects.filter(pk__in=[lead.pk for lead in old]).update(created_at=days_ago(100))
    assert "crm" not in run_command().lower() and CrmLead.objects.count() == 4  # another system's data

    def crm_purge(*args) -> str:
        out = io.StringIO()
        call_command("crm_purge", *args, stdout=out)
        return out.getvalue()

    assert "would be deleted (dry run): 3" in crm_purge("--dry-run") and CrmLead.objects.count() == 4
    assert "deleted: 3" in crm_purge()
    assert list(CrmLead.objects.values_list("pk", flat=True)) == [recent.pk]
    settings.DATA_RETENTION_DAYS = 0
    assert "off" in crm_purge()


def reconciler() -> Reconciler:
    return Reconciler(redis_client=mock.Mock(), celery=mock.Mock())


def test_the_reconciler_purges_when_due_and_not_again_before_the_interval(settings):
    settings.DATA_RETENTION_DAYS, settings.PURGE_INTERVAL = 90, 3600
    rec = reconciler()
    first = submission(100)
    start = rec.next_purge_at
    assert rec.purge_if_due(now=start - 1) is None  # soon after start, not at once
    assert rec.purge_if_due(now=start)["intake.Submission"] == 1
    assert rows_about(first) == GONE
    second = submission(100)
    assert rec.purge_if_due(now=start + 3599) is None
    assert rows_about(second)["submission"] == 1
    assert rec.purge_if_due(now=start + 3600)["intake.Submission"] == 1
    assert rec.totals["purged"] == 2


def test_the_reconciler_goes_on_at_the_next_tick_while_a_backlog_lasts(settings):
    settings.PURGE_INTERVAL = 3600
    rec = reconciler()
    with mock.patch("pipeline.reconcile.PURGE_BATCHES_PER_TICK", 1), mock.patch("pipeline.reconcile.PURGE_BATCH", 2):
        for _ in range(3):
            submission(100)
        start = rec.next_purge_at
        assert rec.purge_if_due(now=start)["intake.Submission"] == 2
        assert rec.purge_if_due(now=start + 5)["intake.Submission"] == 1  # the next tick, not an hour later
        assert rec.purge_if_due(now=start + 10) is None  # done: the next purge is an interval later


def test_a_failed_purge_is_logged_and_tried_again_an_interval_later(settings, caplog):
    settings.PURGE_INTERVAL = 3600
    rec = reconciler()
    start = rec.next_purge_at
    with mock.patch("pipeline.reconcile.submissions_purge", side_effect=RuntimeError("database is locked")):
        assert rec.purge_if_due(now=start) is None
    assert "purge failed" in caplog.text
    assert rec.purge_if_due(now=start + 60) is None
    assert rec.purge_if_due(now=start + 3600) is not None


def test_the_reconciler_purges_nothing_when_retention_is_0(settings):
    settings.DATA_RETENTION_DAYS = 0
    old = submission(1000)
    rec = reconciler()
    assert rec.purge_if_due(now=rec.next_purge_at + 10**6) is None
    assert rows_about(old)["submission"] == 1


def test_the_reconcilers_loop_purges_and_outlives_a_failed_purge(settings):
    settings.RECONCILE_INTERVAL = 0
    rec = reconciler()
    rec.next_purge_at = 0  # due
    rec.run_once = lambda: rec.stopping.set()  # one tick
    rec.gauges.measure = lambda: None  # no Kafka here
    with mock.patch("pipeline.reconcile.submissions_purge", side_effect=RuntimeError("disk I/O error")) as purge_call:
        rec.run_forever()
    assert purge_call.call_count == 1
    assert rec.redis.set.called  # the heartbeat was still written
