"""Kafka: the topic the outbox relay publishes to and how it is created."""

from common.kafka import KafkaAuth
from config.env import env

KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS")
# How every client here signs in (common/kafka.py): SASL/PLAIN as this user when a password is set.
KAFKA_AUTH = KafkaAuth.from_mapping({name: env.str(name) for name in KafkaAuth.SETTINGS})
KAFKA_TOPIC = env.str("KAFKA_TOPIC")
# The bridge's consumer group: the reconciler measures its lag from Kafka (pipeline/gauges.py).
KAFKA_CONSUMER_GROUP = env.str("KAFKA_CONSUMER_GROUP")
KAFKA_NUM_PARTITIONS = env.int("KAFKA_NUM_PARTITIONS")
KAFKA_REPLICATION_FACTOR = env.int("KAFKA_REPLICATION_FACTOR")
KAFKA_MIN_INSYNC_REPLICAS = env.int("KAFKA_MIN_INSYNC_REPLICAS")
# Hours a record stays on the topic and its DLQ (plus at most a day, until its segment closes).
KAFKA_RETENTION_HOURS = env.float("KAFKA_RETENTION_HOURS")
EVENT_SOURCE = env.str("EVENT_SOURCE")

# The relay wakes on a Redis notification sent after each outbox commit; the poll is only the
# fallback for a missed notification.
OUTBOX_WAKEUP_CHANNEL = "outbox:wakeup"
OUTBOX_POLL_INTERVAL = env.float("OUTBOX_POLL_INTERVAL")
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE")
# After a wake-up the relay waits this long before claiming, so a batch gathers the commits of that
# moment (fewer claims, produce requests and marks under load, at most this much added delay).
OUTBOX_LINGER_SECONDS = env.float("OUTBOX_LINGER_SECONDS")
OUTBOX_CLAIM_SECONDS = env.int("OUTBOX_CLAIM_SECONDS")
