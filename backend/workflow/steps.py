"""What each step of the lead saga does, and what its undo does: the code a new step adds (with its
line in events/saga.py and its two tasks in workflow/tasks.py). The engine runs each once."""

from django.conf import settings

from workflow.crm_client import crm_lead_create, crm_lead_delete_by_external_id
from workflow.engine import step_run, step_undo
from workflow.models import Lead, SagaRun
from workflow.rules import lead_owner_for, lead_tags_for

DEMO_CRM_FAILURE_STATUS = 503


def lead_tag(*, submission_id: str, causation_id: str | None = None) -> dict:
    """Step 1: tag the lead (and start the run)."""

    def action(run: SagaRun, lead: Lead) -> dict:
        lead.tags = lead_tags_for(run.submission)
        return {"tags": lead.tags}

    return step_run(submission_id, "tag_lead", action, causation_id)


def lead_assign_owner(*, submission_id: str) -> dict:
    """Step 2: assign an owner (by email domain, see lead_owner_for)."""

    def action(run: SagaRun, lead: Lead) -> dict:
        lead.owner = lead_owner_for(run.submission.email, settings.LEAD_OWNERS)
        return {"owner": lead.owner}

    return step_run(submission_id, "assign_owner", action)


def crm_lead_push(*, submission_id: str) -> dict:
    """Step 3: create the lead in the CRM (idempotent on the submission id)."""

    def action(run: SagaRun, lead: Lead) -> dict:
        submission = run.submission
        lead.crm_lead_id = crm_lead_create(
            payload={
                "external_id": str(submission.id),
                "name": submission.name,
                "email": submission.email,
                "company": submission.company,
                "tags": lead.tags,
                "owner": lead.owner,
            },
            idempotency_key=str(submission.id),
            inject_failure=DEMO_CRM_FAILURE_STATUS if submission.demo_fail_at == "create_crm_lead" else None,
        )
        return {"crm_lead_id": lead.crm_lead_id}

    return step_run(submission_id, "create_crm_lead", action)


def lead_untag(*, submission_id: str) -> dict:
    """Undo step 1."""

    def action(_run: SagaRun, lead: Lead) -> None:
        lead.tags = []

    return step_undo(submission_id, "tag_lead", action)


def lead_unassign_owner(*, submission_id: str) -> dict:
    """Undo step 2."""

    def action(_run: SagaRun, lead: Lead) -> None:
        lead.owner = ""

    return step_undo(submission_id, "assign_owner", action)


def crm_lead_remove(*, submission_id: str) -> dict:
    """Undo step 3: delete whatever lead the CRM holds for this submission."""

    def action(_run: SagaRun, lead: Lead) -> None:
        crm_lead_delete_by_external_id(external_id=str(submission_id))
        lead.crm_lead_id = ""

    return step_undo(submission_id, "create_crm_lead", action)
