"""Replay of dead letters: after a fix, records parked in `<topic>.dlq` go back to their topic.

Each record is produced again to the topic named in its `dlq_source_topic` header, with its key,
its value, the relay's headers (CloudEvents structured mode, whatever the record came with) and a
`dlq_replayed_from` header (DLQ partition and offset); the replay commits its own
consumer group's offsets, so running it again replays only what was parked since.
"""

import logging
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from bridge.config import BridgeConfig
from events import record_headers
from events.topics import DLQ_REPLAYED_FROM, DLQ_SOURCE_TOPIC, dlq_topic

logger = logging.getLogger(__name__)


def replay_dead_letters(config: BridgeConfig, *, limit: int | None = None, timeout: float = 30.0) -> int:
    """Send the records parked so far back to their source topic; return how many were replayed.

    It stops at the end offsets the DLQ had when it started: a record that is still bad is parked
    again by the bridge, and must not be replayed again in the same run (that would never end).
    """
    source = dlq_topic(config.topic)
    consumer = Consumer(
        config.kafka(
            **{
                "group.id": f"{config.group_id}-dlq-replay",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
    )
    producer = Producer(config.kafka(**{"acks": "all", "enable.idempotence": True}))
    replayed = 0
    try:
        partitions = sorted(consumer.list_topics(source, timeout=10).topics[source].partitions)
        committed = consumer.committed([TopicPartition(source, p) for p in partitions], timeout=10)
        remaining: dict[int, int] = {}  # partition -> end offset to reach
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(source, tp.partition), timeout=10)
            start = tp.offset if tp.offset >= 0 else low
            if start < high:
                remaining[tp.partition] = high
                tp.offset = start
        consumer.assign([tp for tp in committed if tp.partition in remaining])
        deadline = time.monotonic() + timeout
        while remaining and (limit is None or replayed < limit) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            headers = dict(msg.headers() or [])
            target = headers.get(DLQ_SOURCE_TOPIC, config.topic.encode()).decode()
            origin = f"{msg.partition()}@{msg.offset()}".encode()
            replayed_headers = [*record_headers(), (DLQ_REPLAYED_FROM, origin)]
            # With its own time: a replayed record leaves the topic when the original would have,
            # not a whole retention after the replay.
            _, created = msg.timestamp()
            producer.produce(
                target, key=msg.key(), value=msg.value(), headers=replayed_headers, timestamp=max(created, 0)
            )
            if producer.flush(10) != 0:
                raise RuntimeError("a replayed record was not confirmed by Kafka; nothing more was committed")
            consumer.commit(offsets=[TopicPartition(source, msg.partition(), msg.offset() + 1)], asynchronous=False)
            replayed += 1
            if msg.offset() + 1 >= remaining.get(msg.partition(), 0):
                remaining.pop(msg.partition(), None)
    finally:
        consumer.close()
    logger.info("replayed %d dead letter(s) from %s", replayed, source)
    return replayed
