import json

import pytest
from confluent_kafka import KafkaError
from django.db import transaction

from events import ContactFormSubmitted, EmailDispatched, decode
from intake.models import Submission
from intake.services import submission_create
from outbox.models import OutboxEvent
from outbox.relay import Relay
from outbox.services import OutboxError, outbox_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_submission_and_its_event_are_stored_together():
    submission = submission_create(name="Ada", email="ada@example.org", message="Hi", company="ACME")
    row = OutboxEvent.objects.get()
    envelope = decode(row.payload)
    assert (row.key, row.event_type, row.published_at) == (str(submission.id), "ContactFormSubmitted", None)
    assert envelope.subject == str(submission.id) == row.key
    assert envelope.correlationid == str(submission.correlation_id)
    assert envelope.event() == ContactFormSubmitted(submission_id=str(submission.id))
    # No personal data on the way to Kafka: consumers read the submission by its id.
    for text in ("Ada", "ada@example.org", "ACME"):
        assert text not in row.payload


def test_rolled_back_transaction_leaves_no_event_and_no_submission():
    with pytest.raises(RuntimeError), transaction.atomic():
        submission_create(name="Ada", email="ada@example.org", message="Hi")
        raise RuntimeError("the caller fails after the write")
    assert not Submission.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_event_cannot_be_written_outside_a_transaction():
    with pytest.raises(OutboxError):
        outbox_record(event=ContactFormSubmitted(submission_id="x"), correlation_id="x")
    assert not OutboxEvent.objects.exists()


class RecordingProducer:
    """Stands in for Kafka in a unit test: confirms (or fails with `error`) every record at flush."""

    def __init__(self, fail: bool = False, error: KafkaError | None = None):
        self.error = error or (KafkaError(KafkaError._TRANSPORT, "broker down") if fail else None)
        self.records = []
        self.pending = []
        self.purged = False

    def produce(self, topic, key, value, headers, on_delivery):
        self.pending.append((topic, key, value, on_delivery))

    def flush(self, timeout=None):
        for topic, key, value, callback in self.pending:
            if self.error is None:
                self.records.append((topic, key, json.loads(value)["type"]))
            callback(self.error, None)
        self.pending = []
        return 0

    def purge(self):
        self.purged = True


def make_relay(producer):
    return Relay(producer=producer, redis_client=object())


def test_relay_marks_rows_published_only_when_delivery_is_confirmed():
    submission_create(name="Ada", email="ada@example.org", message="Hi")
    failing = make_relay(RecordingProducer(fail=True))
    assert failing.run_once() == 0
    row = OutboxEvent.objects.get()
    assert row.published_at is None and "broker down" in row.last_error and row.claimed_until is None

    producer = RecordingProducer()
    assert make_relay(producer).run_once() == 1
    assert OutboxEvent.objects.get().published_at is not None
    assert producer.records == [("events.contact_form", row.key.encode(), "ContactFormSubmitted")]
    assert make_relay(producer).run_once() == 0  # nothing is published twice


def test_a_producer_with_a_fatal_error_is_replaced_and_its_rows_go_out_with_the_next():
    submission_create(name="Ada", email="ada@example.org", message="Hi")
    fenced = RecordingProducer(error=KafkaError(KafkaError.UNKNOWN_PRODUCER_ID, "unknown producer id", fatal=True))
    fresh = RecordingProducer()
    relay = make_relay(fenced)
    relay.make_producer = lambda: fresh

    assert relay.run_once() == 0
    assert fenced.purged and relay.producer is fresh
    assert OutboxEvent.objects.get().published_at is None
    assert relay.run_once() == 1
    assert [kind for _, _, kind in fresh.records] == ["ContactFormSubmitted"]


def test_a_transient_delivery_error_keeps_the_producer():
    submission_create(name="Ada", email="ada@example.org", message="Hi")
    producer = RecordingProducer(fail=True)
    relay = make_relay(producer)
    assert relay.run_once() == 0
    assert relay.producer is producer and not producer.purged


def test_two_relays_never_claim_the_same_row():
    for n in range(5):
        submission_create(name=f"P{n}", email=f"p{n}@example.org", message="Hi")
    first = make_relay(RecordingProducer()).claim()
    second = make_relay(RecordingProducer()).claim()
    assert len(first) == 5 and second == []


def emit_later_event(submission) -> None:
    with transaction.atomic():
        outbox_record(
            event=EmailDispatched(submission_id=str(submission.id), message_id="m"),
            correlation_id=str(submission.correlation_id),
        )


def test_a_relay_skips_every_key_another_relay_holds_so_one_submissions_events_stay_in_order(settings):
    settings.OUTBOX_BATCH_SIZE = 2
    first, second = (submission_create(name=f"P{n}", email=f"p{n}@example.org", message="Hi") for n in range(2))
    emit_later_event(first)  # first's second event, written after second's first
    relay_a, relay_b = make_relay(RecordingProducer()), make_relay(RecordingProducer())
    held = relay_a.claim()  # the two oldest rows: first's submission event and second's
    assert [row.key for row in held] == [str(first.id), str(second.id)]
    # first's EmailDispatched is unclaimed, but relay A still holds first's earlier event.
    assert relay_b.claim() == []
    assert relay_a.publish(held) == 2  # A publishes what it holds, which frees the key
    taken = relay_b.claim()
    assert [(row.key, row.event_type) for row in taken] == [(str(first.id), "EmailDispatched")]


def test_claims_are_in_creation_order():
    ids = [submission_create(name=f"P{n}", email=f"p{n}@example.org", message="Hi").id for n in range(3)]
    claimed = make_relay(RecordingProducer()).claim()
    assert [row.key for row in claimed] == [str(i) for i in ids]


def test_prune_deletes_only_rows_published_before_the_cut_off():
    from datetime import timedelta

    from django.utils import timezone

    from outbox.services import outbox_prune

    old, recent, unsent = (submission_create(name=f"P{n}", email=f"p{n}@example.org", message="Hi") for n in range(3))
    OutboxEvent.objects.filter(key=str(old.id)).update(published_at=timezone.now() - timedelta(days=8))
    OutboxEvent.objects.filter(key=str(recent.id)).update(published_at=timezone.now())
    assert outbox_prune(before=timezone.now() - timedelta(days=7)) == 1
    assert sorted(OutboxEvent.objects.values_list("key", flat=True)) == sorted([str(recent.id), str(unsent.id)])
