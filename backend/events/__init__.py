"""The event envelope and every event type. Pure Python: the bridge imports it without Django."""

from events.envelope import (
    Envelope,
    EnvelopeError,
    UnknownEventError,
    decode,
    encode,
    make_envelope,
    record_headers,
)
from events.types import (
    EVENT_TYPES,
    ContactFormSubmitted,
    EmailDispatched,
    EmailFailed,
    Event,
    WorkflowCompensated,
    WorkflowCompensationFailed,
    WorkflowCompleted,
    WorkflowStepCompensated,
    WorkflowStepCompleted,
    WorkflowStepFailed,
)

__all__ = [
    "EVENT_TYPES",
    "ContactFormSubmitted",
    "EmailDispatched",
    "EmailFailed",
    "Envelope",
    "EnvelopeError",
    "Event",
    "UnknownEventError",
    "WorkflowCompensated",
    "WorkflowCompensationFailed",
    "WorkflowCompleted",
    "WorkflowStepCompensated",
    "WorkflowStepCompleted",
    "WorkflowStepFailed",
    "decode",
    "encode",
    "make_envelope",
    "record_headers",
]
