"""Every event type, one frozen dataclass each, with its version.

Changes to a version are additive (new optional fields); a breaking change is a new class with the
next VERSION, and decoding selects on (type, version).

No event carries a visitor's personal data (name, email address, company, message): whoever needs
them reads the submission by its id. Kafka keeps what it is given until retention, and the outbox and
timeline keep a copy; an id there leaves nothing to erase (see the README's "Erasure"). The version 1
events that did carry them are kept below, to decode records an older release wrote.
"""

import dataclasses
from typing import Any, ClassVar

# No text field of any event is longer than this (the longest, a message, is capped at 5,000).
MAX_TEXT = 20_000


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of every event: its data are the dataclass fields."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    submission_id: str

    def to_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Event":
        """The event from its data; TypeError or ValueError saying which field is missing or wrong."""
        fields = {field.name: field for field in dataclasses.fields(cls)}
        # Unknown keys come from a newer producer of the same version (additive change): ignore them.
        values = {key: value for key, value in data.items() if key in fields}
        for name, value in values.items():
            kind = fields[name].type
            if not isinstance(value, kind):
                raise TypeError(f"field {name!r} must be {kind.__name__}, not {type(value).__name__}")
            if kind is str and len(value) > MAX_TEXT:
                raise ValueError(f"field {name!r} is longer than {MAX_TEXT} characters")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class ContactFormSubmitted(Event):
    """A submission was accepted: the mailer and the workflow read it by `submission_id`."""

    TYPE: ClassVar[str] = "ContactFormSubmitted"
    VERSION: ClassVar[int] = 2


@dataclasses.dataclass(frozen=True)
class EmailDispatched(Event):
    """The SMTP server accepted the confirmation (the recipient is the submission's address)."""

    TYPE: ClassVar[str] = "EmailDispatched"
    VERSION: ClassVar[int] = 2

    message_id: str


@dataclasses.dataclass(frozen=True)
class EmailFailed(Event):
    """The confirmation cannot be sent; `reason` never names the recipient."""

    TYPE: ClassVar[str] = "EmailFailed"
    VERSION: ClassVar[int] = 2

    reason: str


# Version 1, written by releases before erasure: personal data in the event. Decoded, never written.
@dataclasses.dataclass(frozen=True)
class ContactFormSubmittedV1(Event):
    TYPE: ClassVar[str] = "ContactFormSubmitted"

    name: str
    email: str
    message: str
    company: str = ""


@dataclasses.dataclass(frozen=True)
class EmailDispatchedV1(Event):
    TYPE: ClassVar[str] = "EmailDispatched"

    recipient: str
    message_id: str


@dataclasses.dataclass(frozen=True)
class EmailFailedV1(Event):
    TYPE: ClassVar[str] = "EmailFailed"

    recipient: str
    reason: str


@dataclasses.dataclass(frozen=True)
class WorkflowStepCompleted(Event):
    TYPE: ClassVar[str] = "WorkflowStepCompleted"

    step: str
    result: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class WorkflowStepFailed(Event):
    TYPE: ClassVar[str] = "WorkflowStepFailed"

    step: str
    reason: str


@dataclasses.dataclass(frozen=True)
class WorkflowStepCompensated(Event):
    TYPE: ClassVar[str] = "WorkflowStepCompensated"

    step: str


@dataclasses.dataclass(frozen=True)
class WorkflowCompleted(Event):
    TYPE: ClassVar[str] = "WorkflowCompleted"

    owner: str
    crm_lead_id: str
    tags: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class WorkflowCompensated(Event):
    TYPE: ClassVar[str] = "WorkflowCompensated"

    failed_step: str
    reason: str
    compensated_steps: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class WorkflowCompensationFailed(Event):
    TYPE: ClassVar[str] = "WorkflowCompensationFailed"

    failed_step: str
    reason: str
    compensated_steps: list = dataclasses.field(default_factory=list)
    failed_undos: list = dataclasses.field(default_factory=list)


EVENT_TYPES: dict[tuple[str, int], type[Event]] = {
    (cls.TYPE, cls.VERSION): cls
    for cls in (
        ContactFormSubmitted,
        ContactFormSubmittedV1,
        EmailDispatched,
        EmailDispatchedV1,
        EmailFailed,
        EmailFailedV1,
        WorkflowStepCompleted,
        WorkflowStepFailed,
        WorkflowStepCompensated,
        WorkflowCompleted,
        WorkflowCompensated,
        WorkflowCompensationFailed,
    )
}
