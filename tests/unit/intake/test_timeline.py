import pytest

from events import EmailDispatched, WorkflowCompleted, make_envelope
from intake.selectors import Status, status_from, submission_state
from intake.services import timeline_record
from tests.unit.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def envelope_for(submission, event):
    return make_envelope(event, source="t", correlation_id=str(submission.correlation_id))


def test_each_event_is_recorded_once_and_shown_in_time_order():
    submission = SubmissionFactory()
    later = envelope_for(submission, WorkflowCompleted(submission_id=str(submission.id), owner="o", crm_lead_id="1"))
    earlier = envelope_for(submission, EmailDispatched(submission_id=str(submission.id), recipient="r", message_id="m"))
    assert timeline_record(envelope=later) is True
    assert timeline_record(envelope=earlier) is True
    assert timeline_record(envelope=later) is False
    state = submission_state(submission=submission)
    assert [item.type for item in state.timeline] == ["WorkflowCompleted", "EmailDispatched"]
    assert state.status == Status.COMPLETED


def test_event_for_an_unknown_submission_is_not_recorded():
    submission = SubmissionFactory.build()
    event = EmailDispatched(submission_id=str(submission.id), recipient="r", message_id="m")
    assert timeline_record(envelope=envelope_for(submission, event)) is False


@pytest.mark.parametrize(
    "types, published, expected",
    [
        (set(), False, Status.RECEIVED),
        (set(), True, Status.PUBLISHED),
        ({"ContactFormSubmitted"}, True, Status.PROCESSING),
        ({"ContactFormSubmitted", "WorkflowCompleted"}, True, Status.PROCESSING),
        ({"ContactFormSubmitted", "EmailDispatched", "WorkflowCompleted"}, True, Status.COMPLETED),
        ({"ContactFormSubmitted", "EmailDispatched", "WorkflowCompensated"}, True, Status.COMPENSATED),
        ({"ContactFormSubmitted", "EmailFailed", "WorkflowCompleted"}, True, Status.FAILED),
    ],
)
def test_status_is_final_only_when_both_branches_are(types, published, expected):
    assert status_from(types, published=published) == expected
