"""The console's writes: dead letters sent back to the topic they came from."""

import dataclasses
import logging
from dataclasses import dataclass

from confluent_kafka import KafkaException, Producer
from django.conf import settings

from console import kafka
from console.formatting import DLQ_HEADER_PREFIX, DLQ_REPLAYED_FROM, DLQ_SOURCE_TOPIC
from console.kafka import ConsoleError
from events.topics import dlq_topic

logger = logging.getLogger(__name__)

# "Replay all" replays what it reaches in this time; its consumer group remembers where it stopped.
REPLAY_ALL_SECONDS = 5.0


@dataclass(frozen=True)
class Replayed:
    topic: str
    partition: int
    offset: int


def dead_letter_replay(*, partition: int, offset: int) -> Replayed:
    """Produce one dead letter back to its source topic, as `python -m bridge replay-dlq` does.

    The copy carries the key, the value, the headers it came with and a `dlq_replayed_from` header
    (DLQ partition@offset). The bridge remembers each event id it handed off, so an event that was handled already (or a
    replay pressed twice) starts nothing a second time; a record that is still bad is parked again.
    """
    dlq = dlq_topic(settings.KAFKA_TOPIC)
    record = kafka.record_at(dlq, partition, offset)
    named = dict(record.headers).get(DLQ_SOURCE_TOPIC)
    source = named.decode(errors="replace") if named else settings.KAFKA_TOPIC
    if dlq_topic(source) != dlq:  # the header is data: it must not send records to any other topic
        raise ConsoleError(f"{dlq}[{partition}]@{offset} names {source!r} as its source; it is not replayed")
    # The headers the record came with (bridge/dlq.py keeps its content type), not the DLQ's own.
    kept = [(name, value) for name, value in record.headers if not name.startswith(DLQ_HEADER_PREFIX)]
    timeout_ms = int(kafka.REQUEST_SECONDS * 1000)
    producer = Producer(
        kafka.client_config(**{"acks": "all", "enable.idempotence": True, "message.timeout.ms": timeout_ms})
    )
    reports: list = []
    try:
        producer.produce(
            source,
            key=record.key,
            value=record.value,
            headers=[*kept, (DLQ_REPLAYED_FROM, f"{partition}@{offset}".encode())],
            on_delivery=lambda error, message: reports.append((error, message)),
        )
        producer.flush(kafka.REQUEST_SECONDS + 1)
    except KafkaException as exc:
        raise ConsoleError(f"the replay of {dlq}[{partition}]@{offset} was refused: {exc}") from exc
    if not reports or reports[0][0] is not None:
        reason = reports[0][0].str() if reports else "no delivery report in time"
        raise ConsoleError(f"Kafka did not confirm the replay of {dlq}[{partition}]@{offset}: {reason}")
    message = reports[0][1]
    logger.info(
        "console: replayed %s[%d]@%d to %s[%d]@%d",
        dlq,
        partition,
        offset,
        source,
        message.partition(),
        message.offset(),
    )
    return Replayed(source, message.partition(), message.offset())


def dead_letters_replay_all() -> int:
    """Replay every dead letter parked since the last replay, with the bridge's own replay
    (`python -m bridge replay-dlq`, the same consumer group); returns how many were replayed."""
    kafka.topic_names()  # Kafka down fails here in seconds (the bridge's replay waits 10 s per request)
    # The bridge is installed with the project's packages (pyproject.toml).
    from bridge.config import BridgeConfig
    from bridge.replay import replay_dead_letters

    config = dataclasses.replace(
        BridgeConfig.from_env(),
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
        kafka_auth=settings.KAFKA_AUTH,
        topic=settings.KAFKA_TOPIC,
    )
    try:
        return replay_dead_letters(config, timeout=REPLAY_ALL_SECONDS)
    except (KafkaException, RuntimeError) as exc:
        raise ConsoleError(f"the replay stopped: {exc}") from exc
