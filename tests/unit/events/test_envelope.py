import dataclasses
import json

import pytest

from events import (
    EVENT_TYPES,
    ContactFormSubmitted,
    EnvelopeError,
    UnknownEventError,
    WorkflowCompensated,
    decode,
    encode,
    make_envelope,
)


def test_every_event_type_survives_a_round_trip():
    samples = {
        cls: cls(
            **{
                f: (["a"] if f in ("tags", "compensated_steps") else {"k": 1} if f == "result" else "v")
                for f in (field.name for field in dataclasses.fields(cls))
            }
        )
        for cls in EVENT_TYPES.values()
    }
    for cls, event in samples.items():
        envelope = make_envelope(event, source="urn:test", correlation_id="corr", causation_id="cause")
        decoded = decode(encode(envelope))
        assert decoded == envelope
        assert decoded.event() == event
        assert (decoded.type, decoded.dataversion) == (cls.TYPE, cls.VERSION)


def test_envelope_carries_cloudevents_attributes_and_the_correlation_id():
    event = ContactFormSubmitted(submission_id="s-1", name="Ada", email="a@b.org", message="m")
    raw = json.loads(encode(make_envelope(event, source="urn:test", correlation_id="c-1")))
    assert raw["specversion"] == "1.0" and raw["subject"] == "s-1" and raw["correlationid"] == "c-1"
    assert raw["type"] == "ContactFormSubmitted" and raw["dataversion"] == 1 and raw["time"].endswith("Z")
    assert raw["datacontenttype"] == "application/json"


def test_fields_added_by_a_newer_producer_are_ignored():
    event = WorkflowCompensated(submission_id="s", failed_step="x", reason="r", compensated_steps=[])
    raw = json.loads(encode(make_envelope(event, source="t", correlation_id="c")))
    raw["data"]["added_later"] = True
    assert decode(json.dumps(raw)).event() == event


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "empty"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"specversion": "1.0"}', "missing attributes"),
    ],
)
def test_malformed_bytes_are_rejected_with_the_reason(raw, message):
    with pytest.raises(EnvelopeError, match=message):
        decode(raw)


def _valid() -> dict:
    event = ContactFormSubmitted(submission_id="s", name="n", email="e", message="m")
    return json.loads(encode(make_envelope(event, source="t", correlation_id="c")))


def test_unknown_type_or_version_is_its_own_error():
    raw = _valid()
    raw["dataversion"] = 99
    with pytest.raises(UnknownEventError, match="ContactFormSubmitted"):
        decode(json.dumps(raw))


def test_data_missing_a_required_field_is_rejected():
    raw = _valid()
    del raw["data"]["email"]
    with pytest.raises(EnvelopeError, match="data is invalid"):
        decode(json.dumps(raw))


def test_time_without_timezone_is_rejected():
    raw = _valid()
    raw["time"] = "2026-01-01T00:00:00"
    with pytest.raises(EnvelopeError, match="timezone"):
        decode(json.dumps(raw))
