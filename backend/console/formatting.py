"""How the console shows a Kafka record: text an operator can read, whatever bytes it carries.

Records hold visitor data and, in the dead-letter topic, bytes that broke the bridge. Everything is
decoded without failing (undecodable bytes as `\\xNN`), control and invisible formatting characters
(bidi overrides among them) are shown as `\\uNNNN` so that text cannot disguise itself, and the
templates escape the rest.
"""

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from events.topics import (
    DLQ_AT,
    DLQ_HEADER_PREFIX,
    DLQ_REASON,
    DLQ_REPLAYED_FROM,
    DLQ_SOURCE_OFFSET,
    DLQ_SOURCE_PARTITION,
    DLQ_SOURCE_TOPIC,
)

# A value is shown up to this many characters (an event is a few KiB; the bridge refuses 256 KiB).
VALUE_DISPLAY_CHARS = 10_000
_KEPT_CONTROLS = {"\n", "\t"}
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    source_topic: str | None
    source_partition: str | None
    source_offset: str | None
    parked_at: str | None


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    key: str | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    value: str | None = None
    value_is_json: bool = False
    value_truncated: bool = False
    event_type: str | None = None

    def header(self, name: str) -> str | None:
        """The last header of that name (Kafka allows repeats), or None."""
        found = [value for key, value in self.headers if key == name]
        return found[-1] if found else None

    @property
    def time_text(self) -> str:
        """The record's timestamp in UTC, to the millisecond (Kafka's precision)."""
        if self.timestamp is None:
            return "–"
        return self.timestamp.astimezone(UTC).isoformat(sep=" ", timespec="milliseconds").removesuffix("+00:00")

    @property
    def headers_besides_dlq(self) -> list[tuple[str, str]]:
        """The headers other than the bridge's `dlq_…` ones (the DLQ page shows those as the reason)."""
        return [(name, value) for name, value in self.headers if not name.startswith(DLQ_HEADER_PREFIX)]

    @property
    def dead_letter(self) -> DeadLetter | None:
        """Why and from where the bridge parked this record, if it is a dead letter."""
        reason = self.header(DLQ_REASON)
        if reason is None:
            return None
        return DeadLetter(
            reason=reason,
            source_topic=self.header(DLQ_SOURCE_TOPIC),
            source_partition=self.header(DLQ_SOURCE_PARTITION),
            source_offset=self.header(DLQ_SOURCE_OFFSET),
            parked_at=self.header(DLQ_AT),
        )

    @property
    def replayed_from(self) -> str | None:
        return self.header(DLQ_REPLAYED_FROM)


def visible(text: str) -> str:
    """`text` with control and invisible formatting characters written as escapes."""
    if text.isprintable():
        return text
    return "".join(
        f"\\u{ord(char):04x}"
        if char not in _KEPT_CONTROLS and unicodedata.category(char) in _HIDDEN_CATEGORIES
        else char
        for char in text
    )


def as_text(raw: bytes | str | None) -> str | None:
    """Bytes as readable text: UTF-8, with any other byte written as `\\xNN`."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="backslashreplace")
    return visible(text)


def pretty_value(raw: bytes | None) -> tuple[str | None, bool, Any]:
    """The value as text, indented when it is JSON; returns (text, is JSON, the parsed value)."""
    if raw is None:
        return None, False, None
    try:
        parsed = json.loads(raw)
        text = json.dumps(parsed, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError, OverflowError):  # not JSON, or JSON the parser cannot hold
        return as_text(raw), False, None
    return visible(text), True, parsed


def record_from_message(message: Message) -> Record:
    """A consumed confluent-kafka message as the console shows it."""
    text, is_json, parsed = pretty_value(message.value())
    truncated = text is not None and len(text) > VALUE_DISPLAY_CHARS
    kind, millis = message.timestamp()
    event_type = parsed.get("type") if isinstance(parsed, dict) else None
    return Record(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        timestamp=None if kind == TIMESTAMP_NOT_AVAILABLE else datetime.fromtimestamp(millis / 1000, tz=UTC),
        key=as_text(message.key()),
        headers=[(as_text(name), as_text(value) or "") for name, value in (message.headers() or [])],
        value=text[:VALUE_DISPLAY_CHARS] if truncated else text,
        value_is_json=is_json,
        value_truncated=truncated,
        event_type=as_text(event_type) if isinstance(event_type, str) else None,
    )
