"""The saga engine: run a forward step once and record it with its event, complete a run, fail one and
start its compensation, undo a step once, and end the compensation. The steps themselves (what each
one does and undoes) are in workflow/steps.py; their order and undo partners in events/saga.py."""

import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.logs import correlation_id_set
from events import (
    WorkflowCompensated,
    WorkflowCompensationFailed,
    WorkflowCompleted,
    WorkflowStepCompensated,
    WorkflowStepCompleted,
    WorkflowStepFailed,
)
from events.saga import STEP, STEP_NAMES, compensation_chain, compensations_for
from infra.metrics import WORKFLOWS
from intake.models import Submission
from intake.services import event_emit
from workflow.models import Lead, SagaRun, SagaStep

logger = logging.getLogger(__name__)


class WorkflowStepError(RuntimeError):
    """A step failed for a reason retrying will not fix."""


def _emit(run: SagaRun, event) -> None:
    event_emit(event=event, correlation_id=str(run.submission.correlation_id), causation_id=run.causation_id or None)


def _run_for(submission_id: str, step: str) -> SagaRun | None:
    """The saga run with its submission and lead (one query), or None when it does not exist yet (the
    first step makes it; the run and its lead are always written together)."""
    run = SagaRun.objects.select_related("submission", "submission__lead").filter(submission_id=submission_id).first()
    if run is None and step != STEP_NAMES[0]:
        raise SagaRun.DoesNotExist(f"no saga run for {submission_id}")
    return run


def _complete(run: SagaRun, lead: Lead) -> bool:
    """End a run whose last step just finished: COMPLETED with WorkflowCompleted, once (in the caller's
    transaction)."""
    won = SagaRun.objects.filter(pk=run.pk, status=SagaRun.Status.RUNNING).update(
        status=SagaRun.Status.COMPLETED, finished_at=timezone.now()
    )
    if won:
        transaction.on_commit(WORKFLOWS.labels("completed").inc)
        _emit(
            run,
            WorkflowCompleted(
                submission_id=str(run.submission_id), owner=lead.owner, crm_lead_id=lead.crm_lead_id, tags=lead.tags
            ),
        )
    return bool(won)


def step_run(
    submission_id: str, step: str, action: Callable[[SagaRun, Lead], dict], causation_id: str | None = None
) -> dict:
    """Run a forward step once: skip it if done, record it with its event in one transaction. The first
    step also starts the run and the last one completes it, each in that same transaction."""
    run = _run_for(submission_id, step)
    if run is None:  # the first step of a new run: the run and its lead are written with the step
        submission = Submission.objects.filter(id=submission_id).first()
        if submission is None:
            logger.warning("saga: no submission %s; nothing to run", submission_id)
            return {"step": step, "skipped": True, "status": "UNKNOWN_SUBMISSION"}
        run = SagaRun(submission=submission, causation_id=causation_id or "")
        lead, existing = Lead(submission=submission), None
    else:
        existing = SagaStep.objects.filter(run=run, name=step).first()
        lead = run.submission.lead
    correlation_id_set(run.submission.correlation_id)  # also when the task came without it (an older sender)
    last = step == STEP_NAMES[-1]
    if existing is not None:
        if last and run.status == SagaRun.Status.RUNNING:  # a run that stopped between its step and its end
            with transaction.atomic():
                _complete(run, lead)
        return {"step": step, "skipped": True, "result": existing.result}
    if run.status != SagaRun.Status.RUNNING:
        return {"step": step, "skipped": True, "status": run.status}
    if run.submission.demo_fail_at == step and not STEP[step].remote:  # a remote one fails remotely
        if run.pk is None:  # the run must exist to be compensated
            with transaction.atomic():
                run.save()
                lead.save()
        raise WorkflowStepError(f"demo: failure injected at {step}")
    result = action(run, lead)
    try:
        with transaction.atomic():
            if run.pk is None:
                run.save(force_insert=True)
                lead.save(force_insert=True)
            else:
                lead.save()
            SagaStep.objects.create(run=run, name=step, result=result)
            _emit(run, WorkflowStepCompleted(submission_id=str(submission_id), step=step, result=result))
            if last:
                _complete(run, lead)
    except IntegrityError:  # a duplicate chain started the run or finished the same step first
        done = SagaStep.objects.filter(run__submission_id=submission_id, name=step).first()
        return {"step": step, "skipped": True, "result": done.result if done else None}
    return {"step": step, "skipped": False, "result": result}


def saga_fail(*, submission_id: str, step: str, reason: str) -> dict:
    """A step failed for good: record why and start undoing the finished steps in reverse order."""
    with transaction.atomic():
        run = SagaRun.objects.select_related("submission").get(submission_id=submission_id)
        won = SagaRun.objects.filter(pk=run.pk, status=SagaRun.Status.RUNNING).update(
            status=SagaRun.Status.COMPENSATING, failed_step=step, reason=reason[:2000]
        )
        if not won:
            return {"compensating": False, "status": run.status}
        done = set(SagaStep.objects.filter(run=run, status=SagaStep.Status.DONE).values_list("name", flat=True))
        undo = compensations_for(failed_step=step, done_steps=done)
        _emit(run, WorkflowStepFailed(submission_id=str(submission_id), step=step, reason=reason[:500]))
        transaction.on_commit(lambda: compensation_chain(str(submission_id), undo).apply_async())
    return {"compensating": True, "undo": undo}


def step_undo(submission_id: str, step: str, action: Callable[[SagaRun, Lead], None]) -> dict:
    """Undo a step once; the undo of a step that never finished still runs (for remote steps)."""
    run = SagaRun.objects.select_related("submission").get(submission_id=submission_id)
    correlation_id_set(run.submission.correlation_id)  # an operator's retry sends undos without it
    record = SagaStep.objects.filter(run=run, name=step).first()
    if record is not None and record.status in (SagaStep.Status.COMPENSATED, SagaStep.Status.UNDO_FAILED):
        return {"step": step, "skipped": True, "status": record.status}
    lead = Lead.objects.get(submission_id=submission_id)
    action(run, lead)
    with transaction.atomic():
        lead.save()
        if record is None:
            SagaStep.objects.create(
                run=run, name=step, status=SagaStep.Status.COMPENSATED, compensated_at=timezone.now(), result={}
            )
        else:
            SagaStep.objects.filter(pk=record.pk).update(
                status=SagaStep.Status.COMPENSATED, compensated_at=timezone.now()
            )
        _emit(run, WorkflowStepCompensated(submission_id=str(submission_id), step=step))
    return {"step": step, "skipped": False}


@transaction.atomic
def saga_finish_compensation(*, submission_id: str) -> dict:
    """Every undo ran or failed for good: WorkflowCompensated, or WorkflowCompensationFailed, once."""
    run = SagaRun.objects.select_related("submission").get(submission_id=submission_id)
    steps = SagaStep.objects.filter(run=run).order_by("compensated_at", "id")
    undone = list(steps.filter(status=SagaStep.Status.COMPENSATED).values_list("name", flat=True))
    failed = list(steps.filter(status=SagaStep.Status.UNDO_FAILED).values_list("name", "undo_error"))
    final = SagaRun.Status.COMPENSATION_FAILED if failed else SagaRun.Status.COMPENSATED
    won = SagaRun.objects.filter(pk=run.pk, status=SagaRun.Status.COMPENSATING).update(
        status=final, finished_at=timezone.now()
    )
    if won:
        transaction.on_commit(WORKFLOWS.labels(final.lower()).inc)
    if won and failed:
        logger.error("saga %s: compensation failed for good: %s", submission_id, failed)
        _emit(
            run,
            WorkflowCompensationFailed(
                submission_id=str(submission_id),
                failed_step=run.failed_step,
                reason="; ".join(f"undo_{name}: {error}" for name, error in failed)[:1000],
                compensated_steps=undone,
                failed_undos=[name for name, _ in failed],
            ),
        )
    elif won:
        _emit(
            run,
            WorkflowCompensated(
                submission_id=str(submission_id),
                failed_step=run.failed_step,
                reason=run.reason,
                compensated_steps=undone,
            ),
        )
    return {"compensated": bool(won) and not failed, "status": final if won else run.status}


def saga_undo_failed(*, submission_id: str, step: str, reason: str) -> dict:
    """An undo failed for good: record it, and go on with the undos after it (they do not depend on it)."""
    with transaction.atomic():
        run = SagaRun.objects.select_related("submission").get(submission_id=submission_id)
        updated = SagaStep.objects.filter(run=run, name=step).update(
            status=SagaStep.Status.UNDO_FAILED, undo_error=reason[:2000]
        )
        if not updated:  # a remote step that never finished, whose undo failed too
            SagaStep.objects.create(
                run=run, name=step, status=SagaStep.Status.UNDO_FAILED, undo_error=reason[:2000], result={}
            )
        rest = saga_pending_undos(run)
        transaction.on_commit(lambda: compensation_chain(str(submission_id), rest).apply_async())
    return {"undo_failed": step, "continuing_with": rest}


def saga_pending_undos(run: SagaRun) -> list[str]:
    """The undos of a compensating run still to do, in order (neither done nor failed for good)."""
    steps = dict(SagaStep.objects.filter(run=run).values_list("name", "status"))
    done = {name for name, status in steps.items() if status != SagaStep.Status.COMPENSATED}
    order = compensations_for(failed_step=run.failed_step, done_steps=done) if run.failed_step else []
    return [name for name in order if steps.get(name) not in (SagaStep.Status.COMPENSATED, SagaStep.Status.UNDO_FAILED)]
