"""Getting a run going again: the reconciler's re-drive of stalled runs and the operator's retry of a
compensation that failed."""

from django.db import transaction

from events.saga import compensation_chain, forward_chain
from workflow.engine import saga_pending_undos
from workflow.models import SagaRun, SagaStep


def saga_retry_compensation(*, submission_id: str) -> dict:
    """Operator action: undo again what failed to undo (COMPENSATION_FAILED → COMPENSATING)."""
    with transaction.atomic():
        run = SagaRun.objects.select_related("submission").get(submission_id=submission_id)
        won = SagaRun.objects.filter(pk=run.pk, status=SagaRun.Status.COMPENSATION_FAILED).update(
            status=SagaRun.Status.COMPENSATING, finished_at=None
        )
        if not won:
            return {"retried": False, "status": run.status}
        SagaStep.objects.filter(run=run, status=SagaStep.Status.UNDO_FAILED).update(
            status=SagaStep.Status.DONE, undo_error=""
        )
        run.refresh_from_db()
        rest = saga_pending_undos(run)
        transaction.on_commit(lambda: compensation_chain(str(submission_id), rest).apply_async())
    return {"retried": True, "undo": rest}


def saga_stalled(*, stalled_before) -> list[str]:
    """Runs neither finished nor moving since `stalled_before` (their tasks were lost): submission ids."""
    runs = SagaRun.objects.filter(
        status__in=(SagaRun.Status.RUNNING, SagaRun.Status.COMPENSATING), started_at__lt=stalled_before
    ).prefetch_related("steps")[:500]
    stalled = []
    for run in runs:
        steps = run.steps.all()
        moments = [step.done_at for step in steps] + [step.compensated_at for step in steps if step.compensated_at]
        if not moments or max(moments) < stalled_before:
            stalled.append(str(run.submission_id))
    return stalled


def saga_redrive(*, submission_id: str) -> str:
    """Send a stalled run's chain again: the forward one (done steps are skipped) or the undos left."""
    run = SagaRun.objects.get(submission_id=submission_id)
    if run.status == SagaRun.Status.RUNNING:
        forward_chain(str(submission_id)).apply_async()
    elif run.status == SagaRun.Status.COMPENSATING:
        compensation_chain(str(submission_id), saga_pending_undos(run)).apply_async()
    return run.status
