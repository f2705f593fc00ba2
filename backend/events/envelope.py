"""The one event envelope, after the CloudEvents 1.0 attributes, in JSON structured mode.

`subject` is the submission id (also the Kafka key), `correlationid` follows the submission through
every process, `causationid` names the event that led to this one, `dataversion` selects the
schema of `data` together with `type`.

On Kafka a record follows the CloudEvents Kafka protocol binding in structured content mode: the
value is the whole event in the JSON event format, and `record_headers()` are its headers.
"""

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from events.types import EVENT_TYPES, Event

SPEC_VERSION = "1.0"
# Larger records are refused before parsing: no event comes near this.
MAX_RECORD_BYTES = 256 * 1024
MAX_DATAVERSION = 1000
REQUIRED = ("specversion", "id", "source", "type", "time", "subject", "dataversion", "correlationid", "data")
# Structured mode is announced by this one header. No `ce_` header may go with it: a CloudEvents
# client that sees one reads the record in binary mode and looks for every attribute in headers.
CONTENT_TYPE_HEADER = "content-type"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"


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
        except (TypeError, ValueError) as exc:
            raise EnvelopeError(f"{self.type} v{self.dataversion} data is invalid: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        raw["time"] = self.time.isoformat().replace("+00:00", "Z")
        if raw["causationid"] is None:
            # Left out rather than null: the JSON event format reads both as unset, but a client
            # given null gets a `causationid` attribute whose value is None.
            del raw["causationid"]
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


def record_headers() -> list[tuple[str, bytes]]:
    """The headers of a Kafka record whose value is an encoded envelope (structured content mode)."""
    return [(CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode())]


def decode(raw: bytes | str | None) -> Envelope:
    """Parse and check the bytes of a Kafka record; raise EnvelopeError saying what is wrong.

    Only the value is read, whatever the headers: records of the relay before structured mode (with
    `ce_id` and `ce_type` headers and no content-type) decode like today's.

    Whatever the bytes are, the only exception this raises is EnvelopeError (or its subclass):
    a record that breaks the parser itself (nesting deep enough to exhaust the recursion limit,
    numbers too large for a float or an int) is as undecodable as one that is not JSON.
    """
    if not raw:
        raise EnvelopeError("empty record value")
    if len(raw) > MAX_RECORD_BYTES:
        raise EnvelopeError(f"record of {len(raw)} bytes is larger than {MAX_RECORD_BYTES}")
    try:
        return _decode(raw)
    except EnvelopeError:
        raise
    except (RecursionError, OverflowError, MemoryError, ValueError, TypeError) as exc:
        raise EnvelopeError(f"undecodable value ({type(exc).__name__}: {str(exc)[:200]})") from exc


def _decode(raw: bytes | str) -> Envelope:
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
    for name in ("id", "source", "type", "subject", "correlationid"):
        if not isinstance(obj[name], str) or not obj[name] or len(obj[name]) > 200:
            raise EnvelopeError(f"{name} must be a non-empty string of at most 200 characters")
    try:
        time = datetime.fromisoformat(str(obj["time"]).replace("Z", "+00:00"))
        dataversion = obj["dataversion"]
        if isinstance(dataversion, bool) or not isinstance(dataversion, int):
            raise TypeError(f"dataversion must be an integer, not {type(dataversion).__name__}")
    except (TypeError, ValueError) as exc:
        raise EnvelopeError(f"bad time or dataversion: {exc}") from exc
    if not 1 <= dataversion <= MAX_DATAVERSION:
        raise EnvelopeError(f"dataversion {dataversion} is out of range 1..{MAX_DATAVERSION}")
    if time.tzinfo is None:
        raise EnvelopeError("time has no timezone")
    envelope = Envelope(
        id=obj["id"],
        source=obj["source"],
        type=obj["type"],
        time=time,
        subject=obj["subject"],
        dataversion=dataversion,
        correlationid=obj["correlationid"],
        causationid=obj.get("causationid") if isinstance(obj.get("causationid"), str) else None,
        data=obj["data"],
        datacontenttype=str(obj.get("datacontenttype", "application/json"))[:100],
    )
    event = envelope.event()  # raises for an unknown type or data that does not fit it
    if event.submission_id != envelope.subject:
        raise EnvelopeError("data.submission_id differs from the subject")
    return envelope
