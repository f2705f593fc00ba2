"""Health of the pipeline's own processes, for /health/deps: alive is not enough, they must be working."""

import dataclasses
import datetime
import json
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from django.conf import settings
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from redis.asyncio import Redis

from common.kafka import client_config
from common.loop import stuck_for

# Each loop writes {"at", "failing_since", "error"} to its key every pass (TTL 10-30 s).
HEARTBEATS = {"relay": "health:relay", "bridge": "health:bridge", "reconciler": "health:reconciler"}


@dataclasses.dataclass
class PipelineProcesses(HealthCheck):
    """Down when a loop's heartbeat is missing, or when it has failed at every attempt for a while."""

    async def run(self) -> None:
        client = Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        try:
            values = await client.mget(list(HEARTBEATS.values()))
        finally:
            await client.aclose()
        problems = []
        for name, raw in zip(HEARTBEATS, values, strict=True):
            if raw is None:
                problems.append(f"{name}: no heartbeat")
                continue
            beat = json.loads(raw)
            stuck = stuck_for(beat, now=time.time(), limit=settings.HEALTH_STUCK_SECONDS)
            if stuck is not None:
                problems.append(f"{name}: failing for {stuck:.0f} s ({beat.get('error', '')})")
        if problems:
            raise ServiceUnavailable("; ".join(problems))


@dataclasses.dataclass
class Kafka(HealthCheck):
    """Down unless the brokers answer a metadata request, signed in as every client here is
    (health_check's own Kafka check takes no credentials). Run in the check's thread pool."""

    timeout: datetime.timedelta = dataclasses.field(default=datetime.timedelta(seconds=3), repr=False)

    def run(self) -> None:
        config = client_config(settings.KAFKA_BOOTSTRAP_SERVERS, settings.KAFKA_AUTH, log_level=0)
        try:
            metadata = AdminClient(config).list_topics(timeout=self.timeout.total_seconds())
        except KafkaException as exc:
            raise ServiceUnavailable("Unable to connect") from exc
        if not metadata.topics:
            raise ServiceUnavailable("No topics listed")
