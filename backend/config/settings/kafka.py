"""Kafka: the topic the outbox relay publishes to and how it is created."""

from common.kafka import KafkaAuth
from config.env import env

KAFKA_BOOTSTRAP_SERVERS = env.str("KAFKA_BOOTSTRAP_SERVERS", default="127.0.0.1:9092")
# How every client here signs in (common/kafka.py): SASL/PLAIN as this user when a password is set.
KAFKA_AUTH = KafkaAuth.from_mapping({name: env.str(name) for name in KafkaAuth.SETTINGS})
KAFKA_TOPIC = env.str("KAFKA_TOPIC", default="events.contact_form")
KAFKA_NUM_PARTITIONS = env.int("KAFKA_NUM_PARTITIONS", default=3)
KAFKA_REPLICATION_FACTOR = env.int("KAFKA_REPLICATION_FACTOR", default=1)
# Hours a record stays on the topic and its DLQ (plus at most a day, until its segment closes).
KAFKA_RETENTION_HOURS = env.float("KAFKA_RETENTION_HOURS", default=168.0)
EVENT_SOURCE = env.str("EVENT_SOURCE", default="urn:intake:backend")

# The relay wakes on a Redis notification sent after each outbox commit; the poll is only the
# fallback for a missed notification.
OUTBOX_WAKEUP_CHANNEL = "outbox:wakeup"
OUTBOX_POLL_INTERVAL = env.float("OUTBOX_POLL_INTERVAL", default=1.0)
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
# After a wake-up the relay waits this long before claiming, so a batch gathers the commits of that
# moment (fewer claims, produce requests and marks under load, at most this much added delay).
OUTBOX_LINGER_SECONDS = env.float("OUTBOX_LINGER_SECONDS", default=0.005)
OUTBOX_CLAIM_SECONDS = env.int("OUTBOX_CLAIM_SECONDS", default=30)
