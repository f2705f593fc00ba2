"""Any CloudEvents client reads the topic: every record about a submission, as the relay published
it, is decoded by the official SDK's Kafka binding (structured content mode)."""

import uuid

import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from tests.conftest import final_state, read_topic, submit
from tests.servers import read_submission, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]

STRUCTURED = b"application/cloudevents+json"


def records_about(stack, submission_id: str) -> list[dict]:
    """Every record of the topic keyed by the submission (the key, not the value, says whose it is)."""
    return [record for record in read_topic(stack.kafka, stack.topic) if record["key"] == submission_id.encode()]


def as_kafka_message(record: dict) -> ce_kafka.KafkaMessage:
    return ce_kafka.KafkaMessage(headers=record["headers"], key=record["key"], value=record["raw"])


def event_id(record: dict) -> str:
    return ce_kafka.from_kafka_event(as_kafka_message(record)).get_id()


def test_every_record_of_a_completed_submission_is_a_cloudevent_the_sdk_reads(stack):
    created = submit(stack, email=f"visitor-{uuid.uuid4().hex[:12]}@example.org")
    assert final_state(stack, created["id"])["status"] == "COMPLETED"

    def all_published():
        # The topic first, then the timeline: an event on the topic is on the timeline already.
        records = records_about(stack, created["id"])
        state = read_submission(stack, created["id"])
        ids = {str(uuid.UUID(entry["event_id"])) for entry in state["timeline"]}
        return (records, state) if ids and {event_id(record) for record in records} == ids else None

    records, state = wait_until(all_published, timeout=30, interval=0.5, what="every event on the topic")
    timeline = {str(uuid.UUID(entry["event_id"])): entry for entry in state["timeline"]}

    for record in records:
        assert record["headers"].get("content-type") == STRUCTURED
        assert not [name for name in record["headers"] if name.lower().startswith("ce_")]
        # A client that detects the mode from the headers, and one told it is structured, read the same.
        detected = ce_kafka.from_kafka_event(as_kafka_message(record))
        event = ce_kafka.from_structured_event(as_kafka_message(record))
        assert detected.get_attributes() == event.get_attributes() and detected.get_data() == event.get_data()
        entry = timeline[event.get_id()]
        assert (event.get_specversion(), event.get_type()) == ("1.0", entry["type"])
        assert event.get_source() and event.get_time() is not None
        assert event.get_subject() == created["id"] == event.get_extension("partitionkey")
        assert event.get_datacontenttype() == "application/json"
        assert event.get_data()["submission_id"] == created["id"]
        assert event.get_extension("correlationid") == state["correlation_id"]
        assert event.get_extension("dataversion") == entry["version"]

    types = {ce_kafka.from_structured_event(as_kafka_message(record)).get_type() for record in records}
    assert {"ContactFormSubmitted", "EmailDispatched", "WorkflowCompleted"} <= types
