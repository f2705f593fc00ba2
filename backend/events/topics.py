"""The Kafka topics of the event stream and their explicit creation (never auto-creation)."""

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

logger = logging.getLogger(__name__)

# How long a record stays: retention (KAFKA_RETENTION_HOURS), counted once its segment is closed,
# which happens after at most a day. Without segment.ms a quiet topic's segment stays open for
# Kafka's default seven days, and a record then outlives the retention by that much.
DEFAULT_RETENTION_HOURS = 168.0
MAX_SEGMENT_HOURS = 24.0


# The headers of a dead letter (bridge/dlq.py) and of a replayed one (bridge/replay.py), which the
# event console reads back.
DLQ_HEADER_PREFIX = "dlq_"
DLQ_REASON = "dlq_reason"
DLQ_SOURCE_TOPIC = "dlq_source_topic"
DLQ_SOURCE_PARTITION = "dlq_source_partition"
DLQ_SOURCE_OFFSET = "dlq_source_offset"
DLQ_AT = "dlq_at"
DLQ_REPLAYED_FROM = "dlq_replayed_from"


def dlq_topic(topic: str) -> str:
    """Where records that cannot be decoded or routed are parked, with the reason."""
    return f"{topic}.dlq"


def topic_layout(topic: str, partitions: int) -> dict[str, int]:
    """Every topic of the stream with its partition count: the events, and their dead letters."""
    return {topic: partitions, dlq_topic(topic): 1}


def retention_configs(retention_hours: float) -> dict[str, str]:
    """Topic configs that bound how long any record is kept: at most retention plus one segment."""
    retention_ms = int(retention_hours * 3_600_000)
    return {"retention.ms": str(retention_ms), "segment.ms": str(min(retention_ms, int(MAX_SEGMENT_HOURS * 3_600_000)))}


def ensure_topics(
    client: dict,
    topics: dict[str, int],
    *,
    replication: int = 1,
    min_insync: int = 1,
    retention_hours: float = DEFAULT_RETENTION_HOURS,
    timeout: float = 15.0,
) -> None:
    """Create the topics (name → partitions) that do not exist yet with `replication` replicas, and give
    every one of them the retention and `min_insync` (the replicas a write needs before an `acks=all`
    producer is told it is stored); the partitions of an existing topic are left alone. `client`:
    confluent-kafka's settings (bootstrap.servers, and how to sign in)."""
    # librdkafka's own lines go to this module's logger (the service's log format, not raw stderr),
    # served by the poll on the way out.
    admin = AdminClient({**client, "logger": logger})
    try:
        configs = retention_configs(retention_hours) | {"min.insync.replicas": str(min_insync)}
        existing = admin.list_topics(timeout=timeout).topics
        wanted = [
            NewTopic(name, num_partitions=count, replication_factor=replication, config=configs)
            for name, count in topics.items()
            if name not in existing
        ]
        # Keep the admin client referenced until every future resolves (it is torn down otherwise).
        futures = admin.create_topics(wanted, operation_timeout=timeout) if wanted else {}
        for future in futures.values():
            try:
                future.result(timeout=timeout)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
        # Topics made before (by an older release, or by hand) get the retention too; setting it again is harmless.
        entries = [
            ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in configs.items()
        ]
        resources = [
            ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
            for name in topics
            if name in existing
        ]
        for future in (admin.incremental_alter_configs(resources) if resources else {}).values():
            future.result(timeout=timeout)
    finally:
        admin.poll(0)
