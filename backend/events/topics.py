"""The Kafka topics of the event stream and their explicit creation (never auto-creation)."""

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


def dlq_topic(topic: str) -> str:
    """Where records that cannot be decoded or routed are parked, with the reason."""
    return f"{topic}.dlq"


def topic_layout(topic: str, partitions: int) -> dict[str, int]:
    """Every topic of the stream with its partition count: the events, and their dead letters."""
    return {topic: partitions, dlq_topic(topic): 1}


def ensure_topics(
    bootstrap_servers: str, topics: dict[str, int], *, replication: int = 1, timeout: float = 15.0
) -> None:
    """Create the topics (name → partitions) that do not exist yet; existing ones are left alone."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    existing = admin.list_topics(timeout=timeout).topics
    wanted = [
        NewTopic(name, num_partitions=count, replication_factor=replication)
        for name, count in topics.items()
        if name not in existing
    ]
    if not wanted:
        return
    # Keep the admin client referenced until every future resolves (it is torn down otherwise).
    futures = admin.create_topics(wanted, operation_timeout=timeout)
    for future in futures.values():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
