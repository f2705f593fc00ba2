"""Celery entry points of the lead saga: one thin task per step and per undo."""

import logging

from celery import Task, shared_task
from django.conf import settings

from events.saga import FINISH_COMPENSATION_TASK, STEP
from workflow import engine, steps
from workflow.crm_client import CrmError, CrmTransientError

logger = logging.getLogger(__name__)

# Only a failure of the step itself ends it: the step refused (a business rule, the CRM's 4xx) or a
# transient error outlived every retry. Anything else (Redis or the database gone while the task
# ran, a chain that could not be sent) leaves the run as it is, and the reconciler sends it again.
STEP_FAILURES = (engine.WorkflowStepError, CrmError, CrmTransientError)

STEP_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (CrmTransientError, ConnectionError),
    "retry_backoff": True,
    "retry_backoff_max": settings.TASK_RETRY_BACKOFF_MAX,
    # No jitter: the horizon is then a sum one can state (README), not an average.
    "retry_jitter": False,
    "max_retries": settings.TASK_MAX_RETRIES,
}


class ForwardStepTask(Task):
    step_name = ""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """The step failed for good (retries spent or a permanent error): compensate."""
        if not isinstance(exc, STEP_FAILURES):
            logger.warning("saga %s: %s interrupted (%r); left to the reconciler", args[0], self.step_name, exc)
            return
        engine.saga_fail(submission_id=args[0], step=self.step_name, reason=f"{type(exc).__name__}: {exc}")


class UndoStepTask(Task):
    step_name = ""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """An undo failed for good: record it and go on with the other undos; the run ends COMPENSATION_FAILED."""
        if not isinstance(exc, STEP_FAILURES):
            logger.warning("saga %s: undo_%s interrupted (%r); left to the reconciler", args[0], self.step_name, exc)
            return
        engine.saga_undo_failed(submission_id=args[0], step=self.step_name, reason=f"{type(exc).__name__}: {exc}")


@shared_task(name=STEP["tag_lead"].task, base=ForwardStepTask, step_name="tag_lead", **STEP_OPTIONS)
def tag_lead(submission_id: str, causation_id: str | None = None) -> dict:
    """Saga step 1 (it starts the run)."""
    return steps.lead_tag(submission_id=submission_id, causation_id=causation_id)


@shared_task(name=STEP["assign_owner"].task, base=ForwardStepTask, step_name="assign_owner", **STEP_OPTIONS)
def assign_owner(submission_id: str) -> dict:
    """Saga step 2."""
    return steps.lead_assign_owner(submission_id=submission_id)


@shared_task(name=STEP["create_crm_lead"].task, base=ForwardStepTask, step_name="create_crm_lead", **STEP_OPTIONS)
def create_crm_lead(submission_id: str) -> dict:
    """Saga step 3 (it completes the run)."""
    return steps.crm_lead_push(submission_id=submission_id)


@shared_task(name=STEP["create_crm_lead"].undo_task, base=UndoStepTask, step_name="create_crm_lead", **STEP_OPTIONS)
def undo_create_crm_lead(submission_id: str) -> dict:
    """Compensation of step 3."""
    return steps.crm_lead_remove(submission_id=submission_id)


@shared_task(name=STEP["assign_owner"].undo_task, base=UndoStepTask, step_name="assign_owner", **STEP_OPTIONS)
def undo_assign_owner(submission_id: str) -> dict:
    """Compensation of step 2."""
    return steps.lead_unassign_owner(submission_id=submission_id)


@shared_task(name=STEP["tag_lead"].undo_task, base=UndoStepTask, step_name="tag_lead", **STEP_OPTIONS)
def undo_tag_lead(submission_id: str) -> dict:
    """Compensation of step 1."""
    return steps.lead_untag(submission_id=submission_id)


@shared_task(name=FINISH_COMPENSATION_TASK, acks_late=True)
def finish_compensation(submission_id: str) -> dict:
    """End of the compensation chain."""
    return engine.saga_finish_compensation(submission_id=submission_id)
