"""Every event, as the relay writes it to Kafka, is read by the official CloudEvents SDK.

The SDK's current API (`cloudevents.core.bindings.kafka`) is what a new client uses; `cloudevents.v1`
is the API of SDK 1.x (`cloudevents.kafka`), which clients written before 2.0 still call.
"""

import dataclasses
import json

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.v1 import kafka as ce_kafka_v1
from django.db import transaction

from events import EVENT_TYPES, ContactFormSubmitted, Envelope, Event, decode, encode, make_envelope, record_headers
from outbox.relay import Relay
from outbox.services import outbox_record

SOURCE = "urn:intake:backend"
SUBMISSION = "0b6f5c9e-7d1a-4c1e-9a57-2f4f0a1c3d22"
SAMPLE = {str: "text", list: ["a", "b"], dict: {"k": 1}}


def sample(cls: type[Event]) -> Event:
    values = {field.name: SAMPLE[field.type] for field in dataclasses.fields(cls)}
    return cls(**{**values, "submission_id": SUBMISSION})


def relay_record(event: Event, causation_id: str | None = "cause-1") -> tuple[Envelope, ce_kafka.KafkaMessage]:
    """An event encoded as the relay publishes it: key = subject, value = the outbox payload."""
    envelope = make_envelope(event, source=SOURCE, correlation_id="corr-1", causation_id=causation_id)
    message = ce_kafka.KafkaMessage(
        headers=dict(record_headers()), key=envelope.subject.encode(), value=encode(envelope)
    )
    return envelope, message


def assert_read_as_sent(cloud_event, envelope, event: Event) -> None:
    assert cloud_event.get_specversion() == "1.0"
    assert cloud_event.get_source() == SOURCE
    assert cloud_event.get_type() == type(event).TYPE
    assert cloud_event.get_id() == envelope.id
    assert cloud_event.get_subject() == SUBMISSION
    assert cloud_event.get_time() == envelope.time
    assert cloud_event.get_datacontenttype() == "application/json"
    assert cloud_event.get_data() == event.to_data()
    assert cloud_event.get_extension("correlationid") == "corr-1"
    assert cloud_event.get_extension("causationid") == envelope.causationid
    assert cloud_event.get_extension("dataversion") == type(event).VERSION
    assert cloud_event.get_extension("partitionkey") == SUBMISSION  # the Kafka key, as the binding maps it


def test_records_carry_only_the_structured_mode_content_type():
    assert record_headers() == [("content-type", b"application/cloudevents+json")]


@pytest.mark.parametrize("cls", EVENT_TYPES.values(), ids=lambda cls: f"{cls.TYPE}-v{cls.VERSION}")
def test_every_event_type_and_version_is_a_structured_cloudevent(cls):
    event = sample(cls)
    envelope, message = relay_record(event)
    assert_read_as_sent(ce_kafka.from_structured_event(message), envelope, event)
    # A client that detects the mode from the headers (as a generic consumer does) reads the same.
    assert_read_as_sent(ce_kafka.from_kafka_event(message), envelope, event)
    assert decode(message.value) == envelope


@pytest.mark.parametrize("cls", EVENT_TYPES.values(), ids=lambda cls: f"{cls.TYPE}-v{cls.VERSION}")
def test_every_event_type_is_read_by_the_1_x_sdk_api(cls):
    event = sample(cls)
    envelope, message = relay_record(event)
    cloud_event = ce_kafka_v1.from_structured(ce_kafka_v1.KafkaMessage(message.headers, message.key, message.value))
    assert (cloud_event["specversion"], cloud_event["source"], cloud_event["type"]) == ("1.0", SOURCE, cls.TYPE)
    assert (cloud_event["id"], cloud_event["subject"]) == (envelope.id, SUBMISSION)
    assert cloud_event.get_data() == event.to_data()
    assert (cloud_event["correlationid"], cloud_event["causationid"], cloud_event["dataversion"]) == (
        "corr-1",
        "cause-1",
        cls.VERSION,
    )


def test_an_event_caused_by_none_has_no_causation_attribute():
    envelope, message = relay_record(sample(ContactFormSubmitted), causation_id=None)
    assert "causationid" not in json.loads(message.value)
    assert "causationid" not in ce_kafka.from_structured_event(message).get_attributes()
    assert decode(message.value) == envelope


def test_values_of_the_old_relay_still_decode():
    """Before structured mode the relay wrote `causationid: null` and `ce_id`/`ce_type` headers."""
    envelope, message = relay_record(sample(ContactFormSubmitted), causation_id=None)
    old_value = json.dumps({**json.loads(message.value), "causationid": None}).encode()
    assert decode(old_value) == envelope


def test_ce_headers_would_put_a_record_in_binary_mode_where_the_sdk_finds_no_source():
    """What the relay's old `ce_id`/`ce_type` headers did to every record: the reason they are gone."""
    envelope, message = relay_record(sample(ContactFormSubmitted))
    old_headers = {"ce_id": envelope.id.encode(), "ce_type": envelope.type.encode()}
    with pytest.raises(CloudEventValidationError, match="source"):
        ce_kafka.from_kafka_event(ce_kafka.KafkaMessage(headers=old_headers, key=message.key, value=message.value))


class CapturingProducer:
    """Stands in for Kafka: keeps each record as produced and confirms it at flush."""

    def __init__(self):
        self.records: list[ce_kafka.KafkaMessage] = []
        self.callbacks = []

    def produce(self, topic, key, value, headers, on_delivery):
        self.records.append(ce_kafka.KafkaMessage(headers=dict(headers), key=key, value=value))
        self.callbacks.append(on_delivery)

    def flush(self, timeout=None):
        for callback in self.callbacks:
            callback(None, None)
        self.callbacks = []
        return 0


@pytest.mark.django_db
def test_the_relay_publishes_every_event_type_as_a_structured_cloudevent():
    events = [sample(cls) for cls in EVENT_TYPES.values()]
    with transaction.atomic():
        envelopes = [outbox_record(event=event, correlation_id="corr-1", causation_id="cause-1") for event in events]
    producer = CapturingProducer()
    assert Relay(producer=producer, redis_client=object()).run_once() == len(events)

    assert [list(record.headers) for record in producer.records] == [["content-type"]] * len(events)
    for record, envelope, event in zip(producer.records, envelopes, events, strict=True):
        cloud_event = ce_kafka.from_kafka_event(record)
        assert (cloud_event.get_id(), cloud_event.get_type()) == (envelope.id, type(event).TYPE)
        assert cloud_event.get_source() == envelope.source
        assert cloud_event.get_data() == event.to_data()
        assert cloud_event.get_extension("causationid") == "cause-1"
