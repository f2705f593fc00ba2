"""Health of the pipeline's own processes, for /health/deps: alive is not enough, they must be working."""

import dataclasses
import json
import time

from django.conf import settings
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from redis.asyncio import Redis

from config.loop import stuck_for

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
