"""The bridge reads records by their value, whatever their headers; what it parks and replays keeps
the topic's CloudEvents structured mode."""

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from confluent_kafka import TopicPartition

from bridge.config import BridgeConfig
from bridge.consumer import Bridge
from bridge.dlq import DeadLetters
from bridge.handlers import Dispatch
from bridge.replay import replay_dead_letters
from events import ContactFormSubmitted, EmailDispatched, encode, make_envelope, record_headers
from tests.unit.bridge.test_routing import RecordingCelery

TOPIC = "events.contact_form"
STRUCTURED = ("content-type", b"application/cloudevents+json")


class FakeMessage:
    """A consumed record, as confluent-kafka hands it over."""

    def __init__(self, value, headers, key=b"s-1", topic=TOPIC, partition=0, offset=7, created_ms=1_700_000_000_000):
        self._value, self._headers, self._key = value, headers, key
        self._topic, self._partition, self._offset = topic, partition, offset
        self._created_ms = created_ms

    def timestamp(self):
        return (1, self._created_ms)  # TIMESTAMP_CREATE_TIME

    def value(self):
        return self._value

    def key(self):
        return self._key

    def headers(self):
        return self._headers

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def error(self):
        return None


class RecordingProducer:
    def __init__(self, config=None):
        self.records = []

    def produce(self, topic, key=None, value=None, headers=None, timestamp=0):
        self.records.append(
            SimpleNamespace(topic=topic, key=key, value=value, headers=list(headers or []), timestamp=timestamp)
        )

    def flush(self, timeout=None):
        return 0


class FakeRedis:
    def __init__(self):
        self.keys = {}

    def exists(self, key):
        return key in self.keys

    def set(self, key, value, ex=None):
        self.keys[key] = value


def submitted_value(submission_id: str = "s-1") -> tuple[str, bytes]:
    event = ContactFormSubmitted(submission_id=submission_id)
    envelope = make_envelope(event, source="urn:test", correlation_id="c")
    return envelope.id, encode(envelope)


def as_kafka_message(record) -> ce_kafka.KafkaMessage:
    return ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)


@pytest.fixture
def bridge(monkeypatch):
    monkeypatch.setattr("bridge.consumer.Consumer", lambda config: SimpleNamespace())
    monkeypatch.setattr("bridge.consumer.Producer", RecordingProducer)
    bridge = Bridge(BridgeConfig.from_env())
    bridge.redis = FakeRedis()
    return bridge


def test_records_of_the_old_relay_and_structured_records_are_both_handed_off(bridge):
    old_id, old_value = submitted_value("s-old")
    new_id, new_value = submitted_value("s-new")
    old = FakeMessage(old_value, [("ce_id", old_id.encode()), ("ce_type", b"ContactFormSubmitted")], key=b"s-old")
    new = FakeMessage(new_value, record_headers(), key=b"s-new")
    dispatch = Dispatch(celery=RecordingCelery(), delivered_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert [bridge.handle(old, dispatch), bridge.handle(new, dispatch)] == ["handed_off", "handed_off"]
    assert [handoff[1] for handoff in dispatch.handoffs] == ["s-old", "s-new"]


def test_a_parked_cloudevent_keeps_its_content_type_next_to_the_reason():
    _, value = submitted_value()
    producer = RecordingProducer()
    DeadLetters(producer).park(FakeMessage(value, record_headers()), "no route: test")
    [parked] = producer.records
    headers = dict(parked.headers)
    assert parked.topic == f"{TOPIC}.dlq" and parked.value == value
    assert headers["dlq_reason"] == b"no route: test" and headers["dlq_source_topic"] == TOPIC.encode()
    assert (headers["dlq_source_partition"], headers["dlq_source_offset"]) == (b"0", b"7")
    assert headers["content-type"] == STRUCTURED[1]
    assert parked.timestamp == 1_700_000_000_000  # its first time: kept no longer than the original
    # Still a CloudEvent to an operator's client: the reason headers do not change its mode.
    assert ce_kafka.from_kafka_event(as_kafka_message(parked)).get_subject() == "s-1"


def test_the_old_relays_ce_headers_are_not_copied_to_the_dlq():
    event_id, value = submitted_value()
    old = FakeMessage(value, [("ce_id", event_id.encode()), ("ce_type", b"ContactFormSubmitted")])
    producer = RecordingProducer()
    DeadLetters(producer).park(old, "undecodable: test")
    [parked] = producer.records
    assert not [name for name, _ in parked.headers if name.startswith("ce_") or name == "content-type"]
    assert ce_kafka.from_kafka_event(as_kafka_message(parked)).get_id() == event_id


class FakeDlqConsumer:
    """The DLQ's one partition, holding `records` from offset 0."""

    def __init__(self, records):
        self.records = list(records)
        self.end = len(self.records)

    def list_topics(self, topic, timeout=None):
        return SimpleNamespace(topics={topic: SimpleNamespace(partitions={0: None})})

    def committed(self, partitions, timeout=None):
        return [TopicPartition(tp.topic, tp.partition) for tp in partitions]  # nothing committed yet

    def get_watermark_offsets(self, partition, timeout=None):
        return 0, self.end

    def assign(self, partitions):
        pass

    def poll(self, timeout=None):
        return self.records.pop(0) if self.records else None

    def commit(self, offsets=None, asynchronous=True):
        pass

    def close(self):
        pass


def test_a_replayed_record_goes_back_in_structured_mode_whatever_it_was_parked_with(monkeypatch):
    event_id, value = submitted_value()
    # Parked from the old relay: reason headers only (a DLQ record never had `ce_` headers copied).
    parked_headers = [("dlq_reason", b"no route: test"), ("dlq_source_topic", TOPIC.encode())]
    dlq = FakeDlqConsumer([FakeMessage(value, parked_headers, topic=f"{TOPIC}.dlq", offset=0)])
    producer = RecordingProducer()
    monkeypatch.setattr("bridge.replay.Consumer", lambda config: dlq)
    monkeypatch.setattr("bridge.replay.Producer", lambda config: producer)

    assert replay_dead_letters(dataclasses.replace(BridgeConfig.from_env(), topic=TOPIC), timeout=5) == 1
    [replayed] = producer.records
    assert (replayed.topic, replayed.key, replayed.value) == (TOPIC, b"s-1", value)
    assert replayed.headers == [STRUCTURED, ("dlq_replayed_from", b"0@0")]
    assert replayed.timestamp == 1_700_000_000_000  # not re-stamped: retention counts from the first time
    assert ce_kafka.from_kafka_event(as_kafka_message(replayed)).get_id() == event_id


class FakeTopicConsumer:
    """The topic's records, one poll batch at a time; records every commit."""

    def __init__(self):
        self.batches: list[list[FakeMessage]] = []
        self.commits: list[dict[int, int]] = []

    def poll(self, timeout=None):
        return self.batches[0].pop(0) if self.batches and self.batches[0] else None

    def consume(self, num_messages=1, timeout=None):
        batch = self.batches.pop(0) if self.batches else []
        return batch

    def commit(self, offsets=None, asynchronous=True):
        assert asynchronous is False
        self.commits.append({tp.partition: tp.offset for tp in offsets})


def dispatched_value(submission_id: str) -> bytes:
    """An event no stage acts on (the bridge routes EmailDispatched to nothing)."""
    event = EmailDispatched(submission_id=submission_id, message_id="m")
    return encode(make_envelope(event, source="urn:test", correlation_id="c"))


def test_the_bridge_commits_a_hand_off_at_once_and_records_that_route_to_nothing_lazily(bridge, monkeypatch):
    consumer = bridge.consumer = FakeTopicConsumer()
    bridge.celery = RecordingCelery()
    monkeypatch.setattr("bridge.consumer.report_handoffs", lambda dispatch: None)
    clock = [1000.0]
    monkeypatch.setattr("bridge.consumer.time.monotonic", lambda: clock[0])
    bridge.committed_at = clock[0]

    consumer.batches = [[FakeMessage(dispatched_value("s-1"), record_headers(), offset=3)]]
    assert bridge.run_once() == 1 and consumer.commits == []  # nothing handed off: no commit request yet
    consumer.batches = [[FakeMessage(dispatched_value("s-2"), record_headers(), partition=1, offset=8)]]
    assert bridge.run_once() == 1 and consumer.commits == []
    clock[0] += 1.5  # the lazy interval has passed: the next batch commits what waited too
    consumer.batches = [[FakeMessage(dispatched_value("s-3"), record_headers(), offset=4)]]
    bridge.run_once()
    assert consumer.commits == [{0: 5, 1: 9}]

    _, value = submitted_value("s-4")
    consumer.batches = [[FakeMessage(value, record_headers(), key=b"s-4", offset=5)]]
    assert bridge.run_once() == 1 and consumer.commits[-1] == {0: 6}  # a hand-off: committed at once
    assert len(bridge.celery.sent) == 2  # the mail task and the saga's chain

    consumer.batches = [[FakeMessage(dispatched_value("s-5"), record_headers(), offset=6)]]
    bridge.run_once()
    assert len(consumer.commits) == 2
    assert bridge.run_once() == 0 and consumer.commits[-1] == {0: 7}  # idle: the rest goes now
    consumer.batches = [[FakeMessage(dispatched_value("s-6"), record_headers(), offset=7)]]
    bridge.run_once()
    bridge.on_revoke(consumer, [])  # partitions move to another member: what was handled is committed first
    assert consumer.commits[-1] == {0: 8}
    bridge.on_revoke(consumer, [])
    assert len(consumer.commits) == 4  # nothing left: no empty commit request
