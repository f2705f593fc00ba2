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
from events.types import ContactFormSubmittedV1


def test_every_event_type_survives_a_round_trip():
    sample = {str: "v", list: ["a"], dict: {"k": 1}}
    samples = {
        cls: cls(**{field.name: sample[field.type] for field in dataclasses.fields(cls)})
        for cls in EVENT_TYPES.values()
    }
    for cls, event in samples.items():
        envelope = make_envelope(event, source="urn:test", correlation_id="corr", causation_id="cause")
        decoded = decode(encode(envelope))
        assert decoded == envelope
        assert decoded.event() == event
        assert (decoded.type, decoded.dataversion) == (cls.TYPE, cls.VERSION)


def test_envelope_carries_cloudevents_attributes_and_the_correlation_id():
    event = ContactFormSubmitted(submission_id="s-1")
    raw = json.loads(encode(make_envelope(event, source="urn:test", correlation_id="c-1")))
    assert raw["specversion"] == "1.0" and raw["subject"] == "s-1" and raw["correlationid"] == "c-1"
    assert raw["type"] == "ContactFormSubmitted" and raw["dataversion"] == 2 and raw["time"].endswith("Z")
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
    event = ContactFormSubmitted(submission_id="s")
    return json.loads(encode(make_envelope(event, source="t", correlation_id="c")))


def test_unknown_type_or_version_is_its_own_error():
    raw = _valid()
    raw["dataversion"] = 99
    with pytest.raises(UnknownEventError, match="ContactFormSubmitted"):
        decode(json.dumps(raw))


def test_data_missing_a_required_field_is_rejected():
    raw = _valid()
    del raw["data"]["submission_id"]
    with pytest.raises(EnvelopeError, match="data is invalid"):
        decode(json.dumps(raw))


def test_time_without_timezone_is_rejected():
    raw = _valid()
    raw["time"] = "2026-01-01T00:00:00"
    with pytest.raises(EnvelopeError, match="timezone"):
        decode(json.dumps(raw))


def _raw(**overrides) -> bytes:
    # Version 1, with text fields to get wrong (an older release's record still decodes).
    event = ContactFormSubmittedV1(submission_id="s-1", name="Ada", email="a@b.org", message="m")
    raw = json.loads(encode(make_envelope(event, source="urn:test", correlation_id="c-1")))
    return json.dumps({**raw, **overrides}).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "undecodable"),  # RecursionError inside the JSON parser
        (_raw().replace(b'"dataversion": 1', b'"dataversion": 1e400'), "dataversion must be an integer"),
        (_raw(dataversion=10**400), "out of range"),
        (_raw(dataversion=True), "dataversion must be an integer"),
        (_raw(subject=["s-1"]), "subject must be a non-empty string"),
        (_raw(data={"submission_id": "s-1", "name": {"x": 1}, "email": "e", "message": "m"}), "'name' must be str"),
        (_raw(data={"submission_id": "s-1", "name": "n" * 30_000, "email": "e", "message": "m"}), "longer than"),
        (_raw(subject="s-2"), "differs from the subject"),
        (b"x" * (300 * 1024), "larger than"),
        (b"\xff\xfe not utf-8", "not JSON"),
    ],
)
def test_any_bytes_give_an_envelope_error_with_the_reason(raw, reason):
    with pytest.raises(EnvelopeError, match=reason):
        decode(raw)
