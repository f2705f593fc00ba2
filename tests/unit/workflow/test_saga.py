import pytest

from config.celery import app
from events.saga import (
    GENERATED_TS,
    STEP_NAMES,
    STEPS,
    compensation_chain,
    compensations_for,
    forward_chain,
    typescript,
)
from intake.models import Submission
from tests.servers import REPO
from workflow.rules import lead_owner_for


@pytest.mark.parametrize(
    "failed_step, done, expected",
    [
        ("tag_lead", [], []),
        ("assign_owner", ["tag_lead"], ["tag_lead"]),
        # The CRM may have created the lead before its answer was lost: undo it as well.
        ("create_crm_lead", ["tag_lead", "assign_owner"], ["create_crm_lead", "assign_owner", "tag_lead"]),
        ("create_crm_lead", ["assign_owner", "tag_lead"], ["create_crm_lead", "assign_owner", "tag_lead"]),
    ],
)
def test_compensations_undo_finished_steps_in_reverse_order(failed_step, done, expected):
    assert compensations_for(failed_step=failed_step, done_steps=done) == expected


def test_unknown_step_is_an_error():
    with pytest.raises(ValueError):
        compensations_for(failed_step="bake_cake", done_steps=[])


def test_forward_chain_is_the_three_steps_in_order_the_first_naming_the_cause():
    tasks = forward_chain("s-1", causation_id="e-1").tasks
    assert [task.task for task in tasks] == ["workflow.tag_lead", "workflow.assign_owner", "workflow.create_crm_lead"]
    assert all(task.args == ("s-1",) and task.immutable for task in tasks)
    assert tasks[0].kwargs == {"causation_id": "e-1"} and not tasks[1].kwargs


def test_compensation_chain_runs_the_undos_given_then_finishes():
    names = [task.task for task in compensation_chain("s-1", ["create_crm_lead", "tag_lead"]).tasks]
    assert names == ["workflow.undo_create_crm_lead", "workflow.undo_tag_lead", "workflow.finish_compensation"]


def test_owner_is_chosen_by_domain_and_is_stable():
    owners = ["a", "b", "c"]
    assert lead_owner_for("x@acme.com", owners) == lead_owner_for("Y@ACME.com", owners)
    chosen = {lead_owner_for(f"p@company{n}.com", owners) for n in range(50)}
    assert chosen == set(owners)  # every owner gets some domains


def test_the_frontends_copy_of_the_steps_is_the_one_generated_from_the_saga():
    assert (REPO / GENERATED_TS).read_text() == typescript(), "run `cd backend && python -m events.saga`"
    for step in STEPS:
        assert f'"{step.name}"' in typescript() and f'{step.name}: "{step.label}",' in typescript()


def test_the_demos_failure_control_offers_exactly_the_saga_steps():
    assert [value for value, _ in Submission.DEMO_FAIL_CHOICES] == ["", *STEP_NAMES]


def test_every_step_and_its_undo_is_a_registered_task():
    for step in STEPS:
        assert app.tasks[step.task].step_name == step.name
        assert app.tasks[step.undo_task].step_name == step.name
