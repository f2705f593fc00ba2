"""Reads of the intake app: a submission's status, derived from its timeline."""

from dataclasses import dataclass
from datetime import datetime

from intake.models import Submission, TimelineEntry
from mailer.selectors import delivery_summary
from outbox.models import OutboxEvent


class Status:
    RECEIVED = "RECEIVED"  # stored with its event; Kafka does not have it yet
    PUBLISHED = "PUBLISHED"  # in Kafka; the bridge has not handed it to Celery yet
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"  # an undo failed for good: an operator must look
    FAILED = "FAILED"  # the email could not be sent


FINAL_STATUSES = (Status.COMPLETED, Status.COMPENSATED, Status.COMPENSATION_FAILED, Status.FAILED)
WORKFLOW_FINAL_EVENTS = ("WorkflowCompleted", "WorkflowCompensated", "WorkflowCompensationFailed")
EMAIL_FINAL_EVENTS = ("EmailDispatched", "EmailFailed")


@dataclass(frozen=True)
class TimelineItem:
    event_id: str
    type: str
    version: int
    time: datetime
    published_at: datetime | None
    delivered_at: datetime | None
    data: dict


@dataclass(frozen=True)
class SubmissionState:
    submission: Submission
    status: str
    email_status: str
    workflow_status: str
    email_delivery: dict | None
    published_at: datetime | None
    timeline: list[TimelineItem]


def _email_status(types: set[str]) -> str:
    if "EmailDispatched" in types:
        return "SENT"
    if "EmailFailed" in types:
        return "FAILED"
    return "PENDING"


def _workflow_status(types: set[str]) -> str:
    if "WorkflowCompleted" in types:
        return "COMPLETED"
    if "WorkflowCompensated" in types:
        return "COMPENSATED"
    if "WorkflowCompensationFailed" in types:
        return "COMPENSATION_FAILED"
    if "WorkflowStepFailed" in types or "WorkflowStepCompensated" in types:
        return "COMPENSATING"
    if "WorkflowStepCompleted" in types:
        return "RUNNING"
    return "PENDING"


def status_from(types: set[str], *, published: bool, handed_off: bool = False) -> str:
    """The overall status of a submission from the event types in its timeline (which holds its own
    ContactFormSubmitted from the start) and from how far that first event got."""
    email, workflow = _email_status(types), _workflow_status(types)
    if email != "PENDING" and workflow in ("COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"):
        if workflow == "COMPENSATION_FAILED":
            return Status.COMPENSATION_FAILED
        if email == "FAILED":
            return Status.FAILED
        return Status.COMPLETED if workflow == "COMPLETED" else Status.COMPENSATED
    if handed_off or types - {"ContactFormSubmitted"}:
        return Status.PROCESSING
    return Status.PUBLISHED if published else Status.RECEIVED


def submission_state(*, submission: Submission) -> SubmissionState:
    """The submission with its status and its timeline in event-time order."""
    entries = list(TimelineEntry.objects.filter(submission=submission).order_by("occurred_at", "id"))
    outbox_rows = list(
        OutboxEvent.objects.filter(key=str(submission.id)).values_list("id", "event_type", "published_at")
    )
    published = {row_id: at for row_id, _, at in outbox_rows}
    submitted_published = next(
        (at for _, event_type, at in outbox_rows if event_type == "ContactFormSubmitted" and at is not None), None
    )
    types = {entry.event_type for entry in entries}
    timeline = [
        TimelineItem(
            event_id=str(entry.event_id),
            type=entry.event_type,
            version=entry.event_version,
            time=entry.occurred_at,
            published_at=published.get(entry.event_id),
            delivered_at=entry.delivered_at,
            data=entry.data,
        )
        for entry in entries
    ]
    return SubmissionState(
        submission=submission,
        status=status_from(
            types,
            published=submitted_published is not None,
            handed_off=any(item.delivered_at for item in timeline if item.type == "ContactFormSubmitted"),
        ),
        email_status=_email_status(types),
        workflow_status=_workflow_status(types),
        email_delivery=delivery_summary(submission_id=submission.id),
        published_at=submitted_published,
        timeline=timeline,
    )
