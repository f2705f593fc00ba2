"""How the console shows a record: readable, escaped, whatever bytes it carries."""

import json

from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE

from console.formatting import VALUE_DISPLAY_CHARS, as_text, pretty_value, record_from_message, visible


class FakeMessage:
    """The parts of a confluent-kafka Message that the console reads."""

    def __init__(self, value, *, key=b"k", headers=None, timestamp=(TIMESTAMP_CREATE_TIME, 1_767_225_600_123)):
        self._value, self._key, self._headers, self._timestamp = value, key, headers, timestamp

    def topic(self):
        return "events.contact_form"

    def partition(self):
        return 2

    def offset(self):
        return 41

    def timestamp(self):
        return self._timestamp

    def key(self):
        return self._key

    def value(self):
        return self._value

    def headers(self):
        return self._headers


def test_a_json_value_is_shown_indented_with_its_event_type():
    envelope = {"type": "ContactFormSubmitted", "data": {"name": "Zoë", "message": "Hi"}}
    record = record_from_message(FakeMessage(json.dumps(envelope).encode()))
    assert record.value_is_json and record.event_type == "ContactFormSubmitted"
    assert record.value == json.dumps(envelope, indent=2, ensure_ascii=False)
    assert '"name": "Zoë"' in record.value
    assert record.timestamp.isoformat() == "2026-01-01T00:00:00.123000+00:00"
    assert (record.partition, record.offset, record.key) == (2, 41, "k")


def test_a_value_that_is_not_json_is_shown_as_it_is():
    text, is_json, parsed = pretty_value(b"not json <b>at all</b>")
    assert (text, is_json, parsed) == ("not json <b>at all</b>", False, None)


def test_bytes_that_are_not_utf8_are_shown_escaped_not_dropped():
    record = record_from_message(FakeMessage(b"\xff\xfeabc", key=b"\x00\x9f"))
    assert record.value == "\\xff\\xfeabc" and not record.value_is_json
    assert record.key == "\\u0000\\x9f"


def test_bidi_overrides_and_control_characters_cannot_disguise_text():
    assert visible("evil\u202etxt.exe") == "evil\\u202etxt.exe"
    assert visible("zero\u200bwidth\x1b[31m") == "zero\\u200bwidth\\u001b[31m"
    assert visible("two\nlines\tand a tab") == "two\nlines\tand a tab"
    record = record_from_message(FakeMessage(json.dumps({"name": "a\u202eb"}).encode()))
    assert "a\\u202eb" in record.value and "\u202e" not in record.value


def test_json_too_deep_for_the_parser_is_shown_as_text():
    deep = b"[" * 100_000 + b"]" * 100_000
    text, is_json, _ = pretty_value(deep)
    assert not is_json and text.startswith("[[[")


def test_a_long_value_is_cut_and_says_so():
    record = record_from_message(FakeMessage(b"x" * (VALUE_DISPLAY_CHARS + 5)))
    assert record.value_truncated and len(record.value) == VALUE_DISPLAY_CHARS


def test_a_record_without_key_value_or_timestamp_is_shown_as_such():
    record = record_from_message(FakeMessage(None, key=None, timestamp=(TIMESTAMP_NOT_AVAILABLE, -1)))
    assert (record.key, record.value, record.timestamp, record.headers) == (None, None, None, [])
    assert as_text(None) is None


def test_a_dead_letter_shows_the_reason_and_source_the_bridge_wrote():
    headers = [
        ("dlq_reason", b"undecodable: value is not JSON"),
        ("dlq_source_topic", b"events.contact_form"),
        ("dlq_source_partition", b"1"),
        ("dlq_source_offset", b"17"),
        ("dlq_at", b"2026-01-01T00:00:00+00:00"),
    ]
    record = record_from_message(FakeMessage(b"garbage", headers=headers))
    dead = record.dead_letter
    assert dead.reason == "undecodable: value is not JSON"
    assert (dead.source_topic, dead.source_partition, dead.source_offset) == ("events.contact_form", "1", "17")
    assert dead.parked_at == "2026-01-01T00:00:00+00:00"
    assert record.headers_besides_dlq == []
    assert record_from_message(FakeMessage(b"x")).dead_letter is None


def test_a_replayed_record_names_the_dead_letter_it_came_from():
    record = record_from_message(FakeMessage(b"x", headers=[("dlq_replayed_from", b"0@12"), ("h", None)]))
    assert record.replayed_from == "0@12"
    assert record.headers == [("dlq_replayed_from", "0@12"), ("h", "")]


def test_the_time_is_shown_in_utc_to_the_millisecond():
    assert record_from_message(FakeMessage(b"x")).time_text == "2026-01-01 00:00:00.123"
    assert record_from_message(FakeMessage(b"x", timestamp=(TIMESTAMP_NOT_AVAILABLE, -1))).time_text == "–"
