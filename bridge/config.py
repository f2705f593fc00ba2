"""The bridge's configuration: the only place it reads the environment (and `.env`)."""

import socket
from dataclasses import dataclass
from pathlib import Path

import environ

from common.kafka import KafkaAuth, client_config

DEFAULT_ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


@dataclass(frozen=True)
class BridgeConfig:
    bootstrap_servers: str = "127.0.0.1:9092"
    kafka_auth: KafkaAuth = KafkaAuth()
    topic: str = "events.contact_form"
    num_partitions: int = 3
    group_id: str = "bridge"
    # Static membership: a bridge that restarts (after a crash too) takes its partitions back at
    # once instead of waiting for the broker to expire its old session. Unique per bridge process.
    group_instance_id: str = ""
    session_timeout_ms: int = 45000
    max_poll_records: int = 10
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    redis_url: str = "redis://127.0.0.1:6379/0"
    dedupe_ttl_seconds: int = 7 * 24 * 3600
    retention_hours: float = 168.0

    @classmethod
    def from_env(cls) -> "BridgeConfig":
        """Process environment first, then `.env`, then the defaults above."""
        env = environ.Env()
        env_file = Path(env.str("ENV_FILE", default=str(DEFAULT_ENV_FILE)))
        if env_file.is_file():
            env.read_env(env_file)  # never overrides what the process environment already has
        broker = env.str("CELERY_BROKER_URL", default=cls.celery_broker_url)
        return cls(
            bootstrap_servers=env.str("KAFKA_BOOTSTRAP_SERVERS", default=cls.bootstrap_servers),
            kafka_auth=KafkaAuth.from_mapping({name: env.str(name, default="") for name in KafkaAuth.SETTINGS}),
            topic=env.str("KAFKA_TOPIC", default=cls.topic),
            num_partitions=env.int("KAFKA_NUM_PARTITIONS", default=cls.num_partitions),
            group_id=env.str("KAFKA_CONSUMER_GROUP", default=cls.group_id),
            group_instance_id=env.str("KAFKA_GROUP_INSTANCE_ID", default="") or f"bridge-{socket.gethostname()}",
            session_timeout_ms=env.int("KAFKA_SESSION_TIMEOUT_MS", default=cls.session_timeout_ms),
            max_poll_records=env.int("KAFKA_CONSUMER_MAX_POLL_RECORDS", default=cls.max_poll_records),
            celery_broker_url=broker,
            redis_url=env.str("REDIS_URL", default="") or broker,
            dedupe_ttl_seconds=env.int("BRIDGE_DEDUPE_TTL_SECONDS", default=cls.dedupe_ttl_seconds),
            retention_hours=env.float("KAFKA_RETENTION_HOURS", default=cls.retention_hours),
        )

    def kafka(self, **extra) -> dict:
        """A confluent-kafka client's settings: the brokers, how to sign in, then `extra`."""
        return client_config(self.bootstrap_servers, self.kafka_auth, **extra)
