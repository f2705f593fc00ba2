"""The bridge's configuration: the only place it reads the environment (and `.env`).

The defaults are the one table's (`common.defaults`), as for every other process."""

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import environ

from common.defaults import Settings
from common.kafka import KafkaAuth, client_config

DEFAULT_ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


@dataclass(frozen=True)
class BridgeConfig:
    bootstrap_servers: str
    kafka_auth: KafkaAuth
    topic: str
    num_partitions: int
    group_id: str
    # Static membership: a bridge that restarts (after a crash too) takes its partitions back at
    # once instead of waiting for the broker to expire its old session. Unique per bridge process.
    group_instance_id: str
    session_timeout_ms: int
    max_poll_records: int
    celery_broker_url: str
    redis_url: str
    dedupe_ttl_seconds: int
    retention_hours: float
    replication_factor: int
    min_insync_replicas: int

    @classmethod
    def from_env(cls) -> "BridgeConfig":
        """Process environment first, then `.env`, then the table's defaults."""
        env = environ.Env()
        env_file = Path(env.str("ENV_FILE", default=str(DEFAULT_ENV_FILE)))
        if env_file.is_file():
            env.read_env(env_file)  # never overrides what the process environment already has
        env.ENVIRON = Settings(os.environ)
        broker = env.str("CELERY_BROKER_URL")
        return cls(
            bootstrap_servers=env.str("KAFKA_BOOTSTRAP_SERVERS"),
            kafka_auth=KafkaAuth.from_mapping(env.ENVIRON),
            topic=env.str("KAFKA_TOPIC"),
            num_partitions=env.int("KAFKA_NUM_PARTITIONS"),
            group_id=env.str("KAFKA_CONSUMER_GROUP"),
            group_instance_id=env.str("KAFKA_GROUP_INSTANCE_ID") or f"bridge-{socket.gethostname()}",
            session_timeout_ms=env.int("KAFKA_SESSION_TIMEOUT_MS"),
            max_poll_records=env.int("KAFKA_CONSUMER_MAX_POLL_RECORDS"),
            celery_broker_url=broker,
            redis_url=env.str("REDIS_URL") or broker,
            dedupe_ttl_seconds=env.int("BRIDGE_DEDUPE_TTL_SECONDS"),
            retention_hours=env.float("KAFKA_RETENTION_HOURS"),
            replication_factor=env.int("KAFKA_REPLICATION_FACTOR"),
            min_insync_replicas=env.int("KAFKA_MIN_INSYNC_REPLICAS"),
        )

    def kafka(self, **extra) -> dict:
        """A confluent-kafka client's settings: the brokers, how to sign in, then `extra`."""
        return client_config(self.bootstrap_servers, self.kafka_auth, **extra)
