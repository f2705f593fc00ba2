import pytest
from kombu.exceptions import OperationalError

from events import decode
from outbox.models import OutboxEvent
from tests.unit.factories import SubmissionFactory
from workflow import engine, recovery, steps, tasks
from workflow.crm_client import CrmTransientError  # noqa: F401 (tasks: registers the saga tasks for eager runs)
from workflow.models import Lead, SagaRun, SagaStep

pytestmark = pytest.mark.django_db


def event_types(submission) -> list[tuple[str, str | None]]:
    rows = OutboxEvent.objects.filter(key=str(submission.id)).order_by("created_at")
    return [(row.event_type, decode(row.payload).data.get("step")) for row in rows]


def start(submission):
    SagaRun.objects.create(submission=submission)
    Lead.objects.create(submission=submission)


def test_the_first_step_starts_the_run_once_naming_its_cause():
    submission = SubmissionFactory()
    steps.lead_tag(submission_id=str(submission.id), causation_id="event-1")
    steps.lead_tag(submission_id=str(submission.id), causation_id="event-2")
    run = SagaRun.objects.get(submission=submission)
    assert run.causation_id == "event-1" and run.status == SagaRun.Status.RUNNING
    assert Lead.objects.filter(submission=submission).count() == 1


def test_a_later_step_without_a_run_fails_rather_than_starting_one():
    submission = SubmissionFactory()
    with pytest.raises(SagaRun.DoesNotExist):
        steps.lead_assign_owner(submission_id=str(submission.id))
    assert not SagaRun.objects.exists()


def test_the_last_step_completes_the_run_in_its_own_transaction(monkeypatch):
    monkeypatch.setattr(steps, "crm_lead_create", lambda **_: "crm-7")
    submission = SubmissionFactory()
    for step in (steps.lead_tag, steps.lead_assign_owner, steps.crm_lead_push):
        step(submission_id=str(submission.id))
    run = SagaRun.objects.get(submission=submission)
    assert run.status == SagaRun.Status.COMPLETED and run.finished_at is not None
    assert [t for t, _ in event_types(submission)] == ["WorkflowStepCompleted"] * 3 + ["WorkflowCompleted"]
    steps.crm_lead_push(submission_id=str(submission.id))  # a repeat completes nothing twice
    assert [t for t, _ in event_types(submission)].count("WorkflowCompleted") == 1


def test_a_run_stopped_between_its_last_step_and_its_end_is_completed_by_a_repeat(monkeypatch):
    monkeypatch.setattr(steps, "crm_lead_create", lambda **_: "crm-8")
    submission = SubmissionFactory()
    for step in (steps.lead_tag, steps.lead_assign_owner, steps.crm_lead_push):
        step(submission_id=str(submission.id))
    SagaRun.objects.filter(submission=submission).update(status=SagaRun.Status.RUNNING)  # an older release's gap
    assert steps.crm_lead_push(submission_id=str(submission.id))["skipped"] is True
    assert SagaRun.objects.get(submission=submission).status == SagaRun.Status.COMPLETED


def test_a_step_that_ran_already_is_skipped_with_its_first_result():
    submission = SubmissionFactory(email="someone@gmail.com", message="Please call ASAP")
    start(submission)
    first = steps.lead_tag(submission_id=str(submission.id))
    again = steps.lead_tag(submission_id=str(submission.id))
    assert first["result"]["tags"] == ["web-form", "company", "free-email", "urgent"]
    assert again == {"step": "tag_lead", "skipped": True, "result": first["result"]}
    assert SagaStep.objects.filter(name="tag_lead").count() == 1
    assert [t for t, _ in event_types(submission)].count("WorkflowStepCompleted") == 1


def test_injected_failure_compensates_finished_steps_and_emits_the_reason(django_capture_on_commit_callbacks):
    submission = SubmissionFactory(demo_fail_at="assign_owner")
    submission_id = str(submission.id)
    start(submission)
    steps.lead_tag(submission_id=submission_id)
    with pytest.raises(engine.WorkflowStepError) as failure:
        steps.lead_assign_owner(submission_id=submission_id)
    # What the worker does when the task fails for good: its failure hook starts compensation,
    # whose chain eager Celery runs when the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.assign_owner.on_failure(failure.value, "task-id", (submission_id,), {}, None)

    run = SagaRun.objects.get(submission=submission)
    assert run.status == SagaRun.Status.COMPENSATED
    assert run.failed_step == "assign_owner" and "demo" in run.reason
    assert Lead.objects.get(submission=submission).tags == []
    assert event_types(submission) == [
        ("WorkflowStepCompleted", "tag_lead"),
        ("WorkflowStepFailed", "assign_owner"),
        ("WorkflowStepCompensated", "tag_lead"),
        ("WorkflowCompensated", None),
    ]


def test_second_failure_report_starts_no_second_compensation(django_capture_on_commit_callbacks):
    submission = SubmissionFactory()
    start(submission)
    with django_capture_on_commit_callbacks() as callbacks:
        first = engine.saga_fail(submission_id=str(submission.id), step="tag_lead", reason="boom")
        second = engine.saga_fail(submission_id=str(submission.id), step="tag_lead", reason="boom")
    assert first["compensating"] is True and second["compensating"] is False
    assert len(callbacks) == 2  # one wake-up of the relay, one compensation chain
    assert [t for t, _ in event_types(submission)].count("WorkflowStepFailed") == 1


def test_forward_steps_stop_once_the_run_is_compensating():
    submission = SubmissionFactory()
    start(submission)
    SagaRun.objects.filter(submission=submission).update(status=SagaRun.Status.COMPENSATING)
    result = steps.lead_assign_owner(submission_id=str(submission.id))
    assert result["skipped"] is True
    assert not SagaStep.objects.exists()


def compensating_after_crm_failure(submission):
    """A run whose create_crm_lead failed for good after tag_lead and assign_owner finished."""
    start(submission)
    steps.lead_tag(submission_id=str(submission.id))
    steps.lead_assign_owner(submission_id=str(submission.id))
    SagaRun.objects.filter(submission=submission).update(
        status=SagaRun.Status.COMPENSATING, failed_step="create_crm_lead", reason="CRM 503"
    )


def test_an_undo_that_fails_for_good_lets_the_others_run_and_ends_compensation_failed(
    django_capture_on_commit_callbacks,
):
    submission = SubmissionFactory()
    compensating_after_crm_failure(submission)
    error = CrmTransientError("CRM unreachable")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.undo_create_crm_lead.on_failure(error, "task-id", (str(submission.id),), {}, None)

    run = SagaRun.objects.get(submission=submission)
    assert run.status == SagaRun.Status.COMPENSATION_FAILED and run.finished_at
    steps = dict(SagaStep.objects.filter(run=run).values_list("name", "status"))
    assert steps == {"tag_lead": "COMPENSATED", "assign_owner": "COMPENSATED", "create_crm_lead": "UNDO_FAILED"}
    lead = Lead.objects.get(submission=submission)
    assert lead.owner == "" and lead.tags == []  # the local undos after the failed one ran
    [final] = [decode(r.payload) for r in OutboxEvent.objects.filter(event_type="WorkflowCompensationFailed")]
    assert final.data["failed_undos"] == ["create_crm_lead"]
    assert final.data["compensated_steps"] == ["assign_owner", "tag_lead"]
    assert "CrmTransientError: CRM unreachable" in final.data["reason"]


def test_an_infrastructure_error_in_a_step_or_undo_compensates_nothing():
    submission = SubmissionFactory()
    start(submission)
    lost_redis = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    tasks.assign_owner.on_failure(lost_redis, "task-id", (str(submission.id),), {}, None)
    assert SagaRun.objects.get(submission=submission).status == SagaRun.Status.RUNNING
    SagaRun.objects.filter(submission=submission).update(status=SagaRun.Status.COMPENSATING, failed_step="tag_lead")
    tasks.undo_tag_lead.on_failure(lost_redis, "task-id", (str(submission.id),), {}, None)
    assert not SagaStep.objects.filter(status=SagaStep.Status.UNDO_FAILED).exists()


def test_an_operator_retries_a_failed_compensation_to_the_end(django_capture_on_commit_callbacks, monkeypatch):
    submission = SubmissionFactory()
    compensating_after_crm_failure(submission)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.undo_create_crm_lead.on_failure(CrmTransientError("down"), "t", (str(submission.id),), {}, None)
    deleted = []
    monkeypatch.setattr(steps, "crm_lead_delete_by_external_id", lambda external_id: deleted.append(external_id))

    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.saga_retry_compensation(submission_id=str(submission.id))["undo"] == ["create_crm_lead"]
    assert deleted == [str(submission.id)]
    assert SagaRun.objects.get(submission=submission).status == SagaRun.Status.COMPENSATED
    assert OutboxEvent.objects.filter(event_type="WorkflowCompensated").count() == 1
    assert recovery.saga_retry_compensation(submission_id=str(submission.id))["retried"] is False


def test_a_run_whose_tasks_were_lost_is_sent_again_and_a_moving_one_is_not(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    sent = []

    class Chain:
        def __init__(self, submission_id):
            self.submission_id = submission_id

        def apply_async(self):
            sent.append(self.submission_id)

    monkeypatch.setattr(recovery, "forward_chain", Chain)
    stalled, moving, fresh = SubmissionFactory(), SubmissionFactory(), SubmissionFactory()
    for submission in (stalled, moving, fresh):
        start(submission)
    SagaRun.objects.exclude(submission=fresh).update(started_at=timezone.now() - timedelta(minutes=5))
    steps.lead_tag(submission_id=str(moving.id))  # it moved just now
    steps.lead_tag(submission_id=str(stalled.id))
    SagaStep.objects.filter(run__submission=stalled).update(done_at=timezone.now() - timedelta(minutes=4))

    found = recovery.saga_stalled(stalled_before=timezone.now() - timedelta(minutes=1))
    assert found == [str(stalled.id)]
    assert recovery.saga_redrive(submission_id=found[0]) == "RUNNING" and sent == found
