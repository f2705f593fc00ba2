"""Dead letters: records that cannot be decoded or routed go to `<topic>.dlq` with the reason."""

import logging
from datetime import UTC, datetime

from confluent_kafka import Message, Producer

from events.envelope import CONTENT_TYPE_HEADER
from events.topics import (
    DLQ_AT,
    DLQ_REASON,
    DLQ_SOURCE_OFFSET,
    DLQ_SOURCE_PARTITION,
    DLQ_SOURCE_TOPIC,
    dlq_topic,
)

logger = logging.getLogger(__name__)


class DeadLetters:
    def __init__(self, producer: Producer):
        self.producer = producer

    def serve(self) -> None:
        """Hand the producer's queued librdkafka log lines to the logger (it has one: see Bridge); the
        bridge calls this on each pass, since parking, which flushes, is rare."""
        self.producer.poll(0)

    def park(self, msg: Message, reason: str) -> None:
        """Copy the record to the DLQ with where it came from and why; wait until Kafka has it."""
        headers = [
            (DLQ_REASON, reason.encode()),
            (DLQ_SOURCE_TOPIC, msg.topic().encode()),
            (DLQ_SOURCE_PARTITION, str(msg.partition()).encode()),
            (DLQ_SOURCE_OFFSET, str(msg.offset()).encode()),
            (DLQ_AT, datetime.now(UTC).isoformat().encode()),
        ]
        # A parked CloudEvent keeps its content type, and a CloudEvents client still reads it in
        # structured mode (the reasons are not `ce_` headers). The old relay's `ce_id`/`ce_type` are
        # not copied: with them a client would read the record in binary mode, and find no source.
        headers += [(name, value) for name, value in msg.headers() or [] if name.lower() == CONTENT_TYPE_HEADER]
        # The original's time goes with it: a parked record is kept no longer than the record itself.
        _, created = msg.timestamp()
        self.producer.produce(
            dlq_topic(msg.topic()), key=msg.key(), value=msg.value(), headers=headers, timestamp=max(created, 0)
        )
        if self.producer.flush(10) != 0:
            raise RuntimeError("the dead-letter record was not confirmed by Kafka")
        logger.warning("parked %s[%d]@%d in the DLQ: %s", msg.topic(), msg.partition(), msg.offset(), reason)
