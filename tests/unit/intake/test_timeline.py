from datetime import UTC, datetime

import pytest

from events import EmailDispatched, WorkflowCompleted, make_envelope
from intake.services import submission_create, timeline_handoffs_record, timeline_record
from outbox.models import OutboxEvent
from pipeline.selectors import Status, status_from, submission_state
from tests.unit.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def envelope_for(submission, event):
    return make_envelope(event, source="t", correlation_id=str(submission.correlation_id))


def test_each_event_is_recorded_once_and_shown_in_time_order():
    submission = SubmissionFactory()
    later = envelope_for(submission, WorkflowCompleted(submission_id=str(submission.id), owner="o", crm_lead_id="1"))
    earlier = envelope_for(submission, EmailDispatched(submission_id=str(submission.id), message_id="m"))
    assert timeline_record(envelope=later) is True
    assert timeline_record(envelope=earlier) is True
    assert timeline_record(envelope=later) is False
    state = submission_state(submission=submission)
    assert [item.type for item in state.timeline] == ["WorkflowCompleted", "EmailDispatched"]
    assert state.status == Status.COMPLETED


def test_event_for_an_unknown_submission_is_not_recorded():
    submission = SubmissionFactory.build()
    event = EmailDispatched(submission_id=str(submission.id), message_id="m")
    assert timeline_record(envelope=envelope_for(submission, event)) is False


def test_a_new_submission_has_its_first_event_on_its_timeline_in_the_same_transaction():
    submission = submission_create(name="Ada", email="ada@example.org", message="Hello")
    state = submission_state(submission=submission)
    assert [item.type for item in state.timeline] == ["ContactFormSubmitted"]
    assert state.status == Status.RECEIVED  # not in Kafka yet
    assert state.timeline[0].event_id == str(OutboxEvent.objects.get(key=str(submission.id)).id)


def test_the_bridges_batch_report_marks_hand_offs_once():
    submission = submission_create(name="Ada", email="ada@example.org", message="Hello")
    event_id = str(OutboxEvent.objects.get(key=str(submission.id)).id)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert timeline_handoffs_record(handoffs=[(event_id, str(submission.id), at)]) == 1
    assert timeline_handoffs_record(handoffs=[(event_id, str(submission.id), at)]) == 0
    state = submission_state(submission=submission)
    assert state.timeline[0].delivered_at == at and state.status == Status.PROCESSING


@pytest.mark.parametrize(
    "types, published, expected",
    [
        (set(), False, Status.RECEIVED),
        (set(), True, Status.PUBLISHED),
        ({"ContactFormSubmitted"}, False, Status.RECEIVED),
        ({"ContactFormSubmitted"}, True, Status.PUBLISHED),
        ({"ContactFormSubmitted", "EmailDispatched"}, True, Status.PROCESSING),
        ({"ContactFormSubmitted", "WorkflowCompleted"}, True, Status.PROCESSING),
        ({"ContactFormSubmitted", "EmailDispatched", "WorkflowCompleted"}, True, Status.COMPLETED),
        ({"ContactFormSubmitted", "EmailDispatched", "WorkflowCompensated"}, True, Status.COMPENSATED),
        ({"ContactFormSubmitted", "EmailFailed", "WorkflowCompleted"}, True, Status.FAILED),
    ],
)
def test_status_is_final_only_when_both_branches_are(types, published, expected):
    assert status_from(types, published=published) == expected
