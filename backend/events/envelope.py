"""The one event envelope, after the CloudEvents 1.0 attributes, in JSON structured mode.

`subject` is the submission id (also the Kafka key), `correlationid` follows the submission through
every process, `causationid` names the event that led to this one, `dataversion` selects the
schema of `data` together with `type`.
"""

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from events.types import EVENT_TYPES, Event

SPEC_VERSION = "1.0"
REQUIRED = ("specversion", "id", "source", "type", "time", "subject", "dataversion", "correlationid", "data")


class EnvelopeError(ValueError):
    """The bytes are not a valid envelope."""


class UnknownEventError(EnvelopeError):
    """A valid envelope whose (type, version) this code does not know."""


@dataclasses.dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    dataversion: int
    correlationid: str
    data: dict[str, Any]
    causationid: str | None = None
    specversion: str = SPEC_VERSION
    datacontenttype: str = "application/json"

    def event(self) -> Event:
        """The typed event this envelope carries."""
        cls = EVENT_TYPES.get((self.type, self.dataversion))
        if cls is None:
            raise UnknownEventError(f"unknown event type {self.type!r} version {self.dataversion}")
        try:
            return cls.from_data(self.data)
        except TypeError as exc:
            raise EnvelopeError(f"{self.type} v{self.dataversion} data is invalid: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        raw["time"] = self.time.isoformat().replace("+00:00", "Z")
        return raw


def make_envelope(
    event: Event, *, source: str, correlation_id: str, causation_id: str | None = None, time: datetime | None = None
) -> Envelope:
    """Wrap an event in a new envelope with a fresh id."""
    return Envelope(
        id=str(uuid.uuid4()),
        source=source,
        type=event.TYPE,
        time=time or datetime.now(UTC),
        subject=event.submission_id,
        dataversion=event.VERSION,
        correlationid=correlation_id,
        causationid=causation_id,
        data=event.to_data(),
    )


def encode(envelope: Envelope) -> bytes:
    """Serialize an envelope to the bytes written to Kafka."""
    return json.dumps(envelope.to_dict(), separators=(",", ":"), sort_keys=True).encode()


def decode(raw: bytes | str | None) -> Envelope:
    """Parse and check the bytes of a Kafka record; raise EnvelopeError saying what is wrong."""
    if not raw:
        raise EnvelopeError("empty record value")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"value is not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise EnvelopeError("value is not a JSON object")
    missing = [name for name in REQUIRED if name not in obj]
    if missing:
        raise EnvelopeError(f"missing attributes: {', '.join(missing)}")
    if obj["specversion"] != SPEC_VERSION:
        raise EnvelopeError(f"unsupported specversion {obj['specversion']!r}")
    if not isinstance(obj["data"], dict):
        raise EnvelopeError("data is not a JSON object")
    try:
        time = datetime.fromisoformat(str(obj["time"]).replace("Z", "+00:00"))
        dataversion = int(obj["dataversion"])
    except (TypeError, ValueError) as exc:
        raise EnvelopeError(f"bad time or dataversion: {exc}") from exc
    if time.tzinfo is None:
        raise EnvelopeError("time has no timezone")
    envelope = Envelope(
        id=str(obj["id"]),
        source=str(obj["source"]),
        type=str(obj["type"]),
        time=time,
        subject=str(obj["subject"]),
        dataversion=dataversion,
        correlationid=str(obj["correlationid"]),
        causationid=obj.get("causationid"),
        data=obj["data"],
        datacontenttype=obj.get("datacontenttype", "application/json"),
    )
    envelope.event()  # raises for an unknown type or data that does not fit it
    return envelope
