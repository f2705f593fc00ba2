"""The stream process's one subscription to the wake-up channel (OUTBOX_WAKEUP_CHANNEL), fanned out
to the viewers of each submission: `Hub.register` gives a viewer an event that each notification
about its submission sets, and viewers of one submission share a recent read (`Hub.snapshot`).
The views that serve the streams are in pipeline/stream.py."""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Viewers of one submission share a read this recent, if no notification came after it started.
SNAPSHOT_SHARE_SECONDS = 1.0
# Reconnecting to Redis: from the first to the longest pause.
RECONNECT_MIN_SECONDS, RECONNECT_MAX_SECONDS = 0.5, 10.0
# A silent subscription pings Redis after this long; a ping unanswered as long means it is gone.
PING_SECONDS = 15.0
State = tuple[str, str]  # the JSON a viewer is sent, and the status in it
Reader = Callable[[str], Awaitable[State | None]]


@dataclass
class _Topic:
    """The viewers of one submission, and the latest read they share."""

    viewers: set[asyncio.Event] = field(default_factory=set)
    generation: int = 0  # bumped by each notification: a read from an older generation is stale
    read: asyncio.Task | None = None
    read_generation: int = -1
    read_started: float = 0.0


class Hub:
    """One subscription to the wake-up channel per process, fanned out to the viewers of each id."""

    def __init__(self, *, channel: str, connect: Callable[[], Redis] | None = None):
        self.channel = channel
        self.connect = connect  # None: no subscription (tests call notify() themselves)
        self.topics: dict[str, _Topic] = {}
        self.viewers = 0
        self.subscribed = False
        self._had_subscribed = False
        self._listener: asyncio.Task | None = None

    def register(self, key: str) -> asyncio.Event:
        """A new viewer of `key`: the returned event is set on each notification about it."""
        self.ensure_listening()
        wake = asyncio.Event()
        self.topics.setdefault(key, _Topic()).viewers.add(wake)
        self.viewers += 1
        return wake

    def unregister(self, key: str, wake: asyncio.Event) -> None:
        topic = self.topics.get(key)
        if topic is None or wake not in topic.viewers:
            return
        topic.viewers.discard(wake)
        self.viewers -= 1
        if not topic.viewers:
            del self.topics[key]

    def notify(self, payload: bytes) -> None:
        """A message from the channel: wake the viewers of the submission it names."""
        if not payload:  # the reconciler's wake-up of the relay names no submission
            return
        topic = self.topics.get(payload.decode(errors="replace"))
        if topic is not None:
            self._wake(topic)

    def wake_all(self) -> None:
        for topic in self.topics.values():
            self._wake(topic)

    @staticmethod
    def _wake(topic: _Topic) -> None:
        topic.generation += 1
        for wake in topic.viewers:
            wake.set()

    async def snapshot(self, key: str, read: Reader) -> State | None:
        """The state of `key` for one of its viewers: a read shared with the others when it is fresh."""
        topic = self.topics[key]
        now = asyncio.get_running_loop().time()
        task = topic.read
        shareable = (
            task is not None
            and topic.read_generation == topic.generation
            and now - topic.read_started < SNAPSHOT_SHARE_SECONDS
            and not (task.done() and (task.cancelled() or task.exception() is not None))
        )
        if not shareable:
            task = asyncio.ensure_future(read(key))
            task.add_done_callback(lambda done: done.cancelled() or done.exception())  # never "unretrieved"
            topic.read, topic.read_generation, topic.read_started = task, topic.generation, now
        # Shielded: a viewer who leaves must not cancel the read the others wait on.
        return await asyncio.shield(task)

    def ensure_listening(self) -> None:
        """Start the subscription on the running loop, once (again if its loop is not this one)."""
        if self.connect is None:
            return
        loop = asyncio.get_running_loop()
        if self._listener is None or self._listener.done() or self._listener.get_loop() is not loop:
            self._listener = loop.create_task(self.listen(), name="stream-hub")

    async def listen(self) -> None:
        """Hold the subscription while the process runs, reconnecting with backoff when Redis goes."""
        delay = RECONNECT_MIN_SECONDS
        while True:
            self._had_subscribed = False
            try:
                await self._listen_once()
            except Exception as exc:  # Redis gone, or anything else: the subscription must outlive it
                if self._had_subscribed:
                    delay = RECONNECT_MIN_SECONDS
                if delay == RECONNECT_MIN_SECONDS:  # once per outage, not at every attempt
                    logger.warning("stream: no wake-up channel (%s: %s); reconnecting", type(exc).__name__, exc)
            # Meanwhile viewers read on their fallback timer; jitter spreads the processes' reconnects.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _listen_once(self) -> None:
        client = self.connect()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self.subscribed = self._had_subscribed = True
            logger.info("stream: subscribed to %s", self.channel)
            # Notifications sent while there was no subscription are lost: every viewer reads again.
            self.wake_all()
            loop = asyncio.get_running_loop()
            heard, pinged = loop.time(), False
            while True:
                message = await pubsub.get_message(timeout=PING_SECONDS)
                if message is not None:
                    heard, pinged = loop.time(), False
                    if message["type"] == "message":
                        self.notify(message["data"])
                elif loop.time() - heard >= PING_SECONDS:
                    if pinged:
                        raise RedisConnectionError("Redis did not answer a ping")
                    await pubsub.ping()
                    heard, pinged = loop.time(), True
        finally:
            self.subscribed = False
            try:
                await pubsub.aclose()
                await client.aclose()
            except (RedisError, OSError):
                pass


def _redis() -> Redis:
    # No retries inside the client: a lost connection must reach Hub.listen, which wakes every
    # viewer once it has subscribed again.
    return Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, retry=Retry(NoBackoff(), 0))


_hub: Hub | None = None


def get_hub() -> Hub:
    """This process's hub (created on first use; /health or the first viewer starts its subscription)."""
    global _hub
    if _hub is None:
        _hub = Hub(channel=settings.OUTBOX_WAKEUP_CHANNEL, connect=_redis)
    return _hub
