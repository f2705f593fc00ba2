"""The lead saga, defined in one place: forward steps in order, each with its undo partner.

A step that fails for good stops the chain; its task's failure hook starts the compensation chain,
which undoes the finished steps in reverse order. A remote step (one that talks to another system)
is undone even when it failed, because a timed-out request may have taken effect over there.
"""

from dataclasses import dataclass

from celery import chain, signature


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # what a visitor and an operator read once it is done
    remote: bool = False
    demo_note: str = ""  # how the demo's failure control makes it fail, when that is worth saying

    @property
    def task(self) -> str:
        return f"workflow.{self.name}"

    @property
    def undo_task(self) -> str:
        return f"workflow.undo_{self.name}"


# The one list of the saga's steps. The admin, the API's schema (the demo's failure control) and the
# frontend (frontend/src/saga.generated.ts, written by `python -m events.saga` in backend/) take it from here.
STEPS: tuple[Step, ...] = (
    Step("tag_lead", "Lead tagged"),
    Step("assign_owner", "Owner assigned"),
    Step("create_crm_lead", "CRM lead created", remote=True, demo_note="CRM answers 503"),
)
STEP_NAMES = tuple(step.name for step in STEPS)
STEP = {step.name: step for step in STEPS}
FINISH_COMPENSATION_TASK = "workflow.finish_compensation"


def compensations_for(*, failed_step: str, done_steps: set[str] | list[str]) -> list[str]:
    """The steps to undo, in the order to undo them, when `failed_step` failed for good."""
    if failed_step not in STEP_NAMES:
        raise ValueError(f"unknown step {failed_step!r}")
    failed = next(step for step in STEPS if step.name == failed_step)
    to_undo = [step.name for step in STEPS if step.name in set(done_steps)]
    if failed.remote and failed.name not in to_undo:
        to_undo.append(failed.name)
    return list(reversed(to_undo))


def forward_chain(submission_id: str, causation_id: str | None = None, app=None):
    """tag_lead → assign_owner → create_crm_lead, each taking only the id.

    The first step starts the run (naming the event that caused it) and the last one completes it in
    its own transaction: three tasks for a whole happy saga, no start or end task of their own.
    """
    first, *rest = STEPS
    return chain(
        signature(first.task, args=(submission_id,), kwargs={"causation_id": causation_id}, immutable=True, app=app),
        *(signature(step.task, args=(submission_id,), immutable=True, app=app) for step in rest),
        app=app,
    )


def compensation_chain(submission_id: str, undo_steps: list[str]):
    """The undo tasks in the given order, then finish_compensation."""
    return chain(
        *(signature(STEP[name].undo_task, args=(submission_id,), immutable=True) for name in undo_steps),
        signature(FINISH_COMPENSATION_TASK, args=(submission_id,), immutable=True),
    )


GENERATED_TS = "frontend/src/saga.generated.ts"


def typescript() -> str:
    """The saga's steps for the frontend, as frontend/src/saga.generated.ts holds them."""
    names = ", ".join(f'"{step.name}"' for step in STEPS)
    labels = "\n".join(f'  {step.name}: "{step.label}",' for step in STEPS)
    notes = "\n".join(f'  {step.name}: "{step.demo_note}",' for step in STEPS if step.demo_note)
    return (
        "// Generated from backend/events/saga.py by `cd backend && python -m events.saga`: do not edit.\n"
        "// A unit test fails when this file and the saga's steps differ.\n"
        f"export const WORKFLOW_STEPS = [{names}] as const;\n"
        "export type WorkflowStep = (typeof WORKFLOW_STEPS)[number];\n"
        f"export const STEP_LABELS: Record<WorkflowStep, string> = {{\n{labels}\n}};\n"
        f"export const DEMO_FAILURE_NOTES: Partial<Record<WorkflowStep, string>> = {{\n{notes}\n}};\n"
    )


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).resolve().parents[2] / GENERATED_TS
    target.write_text(typescript())
    print(f"wrote {target}")
