"""Replay of dead letters: after a fix, records parked in `<topic>.dlq` go back to their topic.

Each record is produced again to the topic named in its `dlq_source_topic` header, with its key,
its value and a `dlq_replayed_from` header (DLQ partition and offset); the replay commits its own
consumer group's offsets, so running it again replays only what was parked since.
"""

import logging

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from bridge.config import BridgeConfig
from events.topics import dlq_topic

logger = logging.getLogger(__name__)


def replay_dead_letters(config: BridgeConfig, *, limit: int | None = None, idle_seconds: float = 3.0) -> int:
    """Send parked records back to their source topic; return how many were replayed."""
    source = dlq_topic(config.topic)
    consumer = Consumer(
        {
            "bootstrap.servers": config.bootstrap_servers,
            "group.id": f"{config.group_id}-dlq-replay",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    producer = Producer({"bootstrap.servers": config.bootstrap_servers, "acks": "all", "enable.idempotence": True})
    replayed = 0
    try:
        consumer.subscribe([source])
        while limit is None or replayed < limit:
            msg = consumer.poll(idle_seconds)
            if msg is None:
                break  # nothing more arrived for a while: the DLQ is drained
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    logger.warning("DLQ read error: %s", msg.error())
                continue
            headers = dict(msg.headers() or [])
            target = headers.get("dlq_source_topic", config.topic.encode()).decode()
            origin = f"{msg.partition()}@{msg.offset()}".encode()
            producer.produce(target, key=msg.key(), value=msg.value(), headers=[("dlq_replayed_from", origin)])
            if producer.flush(10) != 0:
                raise RuntimeError("a replayed record was not confirmed by Kafka; nothing more was committed")
            consumer.commit(
                offsets=[TopicPartition(msg.topic(), msg.partition(), msg.offset() + 1)], asynchronous=False
            )
            replayed += 1
    finally:
        consumer.close()
    logger.info("replayed %d dead letter(s) from %s", replayed, source)
    return replayed
