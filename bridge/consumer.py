"""The bridge's poll loop: decode, route, hand off to Celery, and only then commit the offset."""

import json
import logging
import threading
import time
from datetime import UTC, datetime

import redis
from celery import Celery
from celery.signals import before_task_publish
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from prometheus_client import Counter, Gauge

from bridge.config import BridgeConfig
from bridge.dlq import DeadLetters
from bridge.handlers import Dispatch, report_handoffs
from bridge.routing import ROUTES
from common.kafka import partition_lag
from common.logs import CORRELATION_HEADER, CORRELATION_ID
from common.loop import FailureClock
from events import EnvelopeError, UnknownEventError, decode
from events.topics import ensure_topics, topic_layout
from events.work import TASK_ROUTES, WORKFLOW_QUEUE

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:bridge"
HEARTBEAT_TTL_SECONDS = 10
DEDUPE_PREFIX = "bridge:handoff:"
RETRY_PAUSE_SECONDS = 1.0
LAG_INTERVAL_SECONDS = 5.0  # how often the loop measures its lag (a committed-offsets request)
# Offsets of batches that handed nothing off (the events no stage acts on: five of a submission's
# six) are committed at most this often, when the consumer is idle, or on a rebalance, instead of
# one commit request per batch; a crash before then re-reads records that route to nothing.
LAZY_COMMIT_SECONDS = 1.0

RECORDS = Counter(
    "intake_bridge_records",
    "Records the bridge handled, by outcome: handed_off (to Celery), nothing_to_do, duplicates, dead_lettered.",
    ["outcome"],
)
DEAD_LETTERS = Counter(
    "intake_dead_letters", "Records the bridge parked in the dead-letter topic, by reason.", ["reason"]
)
HANDOFF_FAILURES = Counter("intake_bridge_handoff_failures", "Hand-offs that failed (retried from the same offset).")
LAG = Gauge(
    "intake_bridge_lag",
    "Records of a partition the bridge has not committed yet: its end offset minus the group's committed one.",
    ["topic", "partition"],
)

# The correlation id of the record being handled (common/logs.py's, as in every process) labels the
# bridge's log lines and goes in the `correlationid` header of the tasks it sends, which the workers read.


@before_task_publish.connect
def pass_correlation_id(headers=None, **_kwargs) -> None:
    value = CORRELATION_ID.get()
    if value and headers is not None:
        headers.setdefault(CORRELATION_HEADER, value)


def make_celery(config: BridgeConfig) -> Celery:
    app = Celery("bridge", broker=config.celery_broker_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        task_default_queue=WORKFLOW_QUEUE,
        task_routes=TASK_ROUTES,
    )
    return app


class Bridge:
    """One bridge member: `run_once()` handles one batch, `run_forever()` loops until stopped."""

    def __init__(self, config: BridgeConfig):
        self.config = config
        membership = {"group.instance.id": config.group_instance_id} if config.group_instance_id else {}
        self.consumer = Consumer(
            config.kafka(
                **membership,
                **{
                    "group.id": config.group_id,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": config.session_timeout_ms,
                    "client.id": "bridge",
                    "logger": logger,  # librdkafka's own lines in this log's format (served by poll)
                },
            )
        )
        self.dead_letters = DeadLetters(
            Producer(config.kafka(acks="all", **{"client.id": "bridge-dlq", "logger": logger}))  # served by serve()
        )
        self.celery = make_celery(config)
        self.redis = redis.Redis.from_url(config.redis_url, socket_timeout=5)
        self.stopping = threading.Event()
        self.counts = {"handed_off": 0, "nothing_to_do": 0, "duplicates": 0, "dead_lettered": 0}
        # Health means working: failing while hand-offs fail (the same offset retried), cleared by progress.
        self.health = FailureClock()
        self.lag_measured_at = float("-inf")
        self.lag_labels: set[tuple[str, str]] = set()
        self.uncommitted: dict[tuple[str, int], int] = {}  # handled, not committed yet: the next offsets
        self.committed_at = time.monotonic()

    def handle(self, msg: Message, dispatch: Dispatch) -> str:
        """Route one record: 'handed_off', 'nothing_to_do', 'duplicates' or 'dead_lettered'.

        Raises if Celery is unreachable."""
        try:
            envelope = decode(msg.value())
        except UnknownEventError as exc:
            return self._park(msg, "unknown_type", f"no route: {exc}")
        except EnvelopeError as exc:
            return self._park(msg, "undecodable", f"undecodable: {exc}")
        CORRELATION_ID.set(envelope.correlationid)  # run_once restores the one before, after the record
        route = (envelope.type, envelope.dataversion)
        if route not in ROUTES:
            return self._park(msg, "no_route", f"no route for {envelope.type} v{envelope.dataversion}")
        handler = ROUTES[route]
        if handler is None:
            return "nothing_to_do"
        dedupe_key = DEDUPE_PREFIX + envelope.id
        if self.redis.exists(dedupe_key):
            return "duplicates"
        dispatch.delivered_at = datetime.now(UTC)
        handler(envelope, dispatch)
        # Marked only after the hand-off: a crash in between means a second hand-off, which the
        # idempotent tasks absorb, never a lost one.
        self.redis.set(dedupe_key, 1, ex=self.config.dedupe_ttl_seconds)
        logger.info(
            "handed off %s %s",
            envelope.type,
            envelope.id,
            extra={"event_type": envelope.type, "event_id": envelope.id, "submission_id": envelope.subject},
        )
        return "handed_off"

    def _park(self, msg: Message, kind: str, reason: str) -> str:
        self.dead_letters.park(msg, reason)
        DEAD_LETTERS.labels(kind).inc()
        return "dead_lettered"

    def run_once(self, timeout: float = 1.0) -> int:
        """Consume and hand off up to one batch; commit what was handled. Returns the record count."""
        first = self.consumer.poll(timeout)
        if first is None:
            self.commit()  # idle: whatever is still waiting goes now
            return 0
        # consume() blocks until the batch is full or the timeout passes: take only what has
        # already arrived, so a lone event is handed off at once.
        messages = [first, *self.consumer.consume(num_messages=self.config.max_poll_records - 1, timeout=0)]
        done: dict[tuple[str, int], int] = {}
        acted = False  # whether the batch handed off (or parked) anything: then it is committed at once
        dispatch = Dispatch(celery=self.celery, delivered_at=datetime.now(UTC))
        for index, msg in enumerate(messages):
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    logger.warning("consumer error: %s", msg.error())
                continue
            token = CORRELATION_ID.set(None)  # each record's lines and tasks carry its own
            try:
                outcome = self.handle(msg, dispatch)
            except Exception as exc:
                logger.exception("hand-off failed; will retry from offset %d", msg.offset())
                HANDOFF_FAILURES.inc()
                self.health.note(ok=False, error=f"hand-off at {msg.topic()}[{msg.partition()}]@{msg.offset()}: {exc}")
                self._rewind(messages[index:])
                self.stopping.wait(RETRY_PAUSE_SECONDS)
                break
            finally:
                CORRELATION_ID.reset(token)
            self.counts[outcome] += 1
            RECORDS.labels(outcome).inc()
            self.health.note(ok=True)
            done[(msg.topic(), msg.partition())] = msg.offset() + 1
            acted = acted or outcome in ("handed_off", "dead_lettered")
        try:
            report_handoffs(dispatch)
        except Exception as exc:  # only the timeline's hand-off times are lost: the work itself was sent
            logger.warning("hand-off report not sent (%s)", exc)
        self.uncommitted.update(done)
        if acted or time.monotonic() - self.committed_at >= LAZY_COMMIT_SECONDS:
            self.commit()
        return len(messages)

    def commit(self) -> None:
        """Commit the offsets handled since the last commit (synchronously), if there are any."""
        if not self.uncommitted:
            return
        offsets = [TopicPartition(topic, partition, offset) for (topic, partition), offset in self.uncommitted.items()]
        self.uncommitted, self.committed_at = {}, time.monotonic()
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # After a rebalance or a broker restart the commit can be refused. The records were
            # handed off already; if they come again, the dedupe and the idempotent tasks absorb them.
            logger.warning("offset commit refused (%s); the records may be delivered again", exc)

    def on_revoke(self, _consumer, _partitions) -> None:
        """Partitions leave this member: what it handled of them is committed before the next owner reads."""
        self.commit()

    def _rewind(self, unhandled: list[Message]) -> None:
        first: dict[tuple[str, int], int] = {}
        for msg in unhandled:
            if not msg.error():
                first.setdefault((msg.topic(), msg.partition()), msg.offset())
        for (topic, partition), offset in first.items():
            self.consumer.seek(TopicPartition(topic, partition, offset))

    def heartbeat(self) -> None:
        try:
            self.redis.set(HEARTBEAT_KEY, json.dumps(self.health.beat()), ex=HEARTBEAT_TTL_SECONDS)
        except redis.RedisError as exc:
            logger.warning("bridge heartbeat not written: %s", exc)

    def measure_lag(self, *, now: float | None = None) -> None:
        """Set each assigned partition's lag: its end offset minus the group's committed offset (a
        partition never committed counts from its first record). Every LAG_INTERVAL_SECONDS at most."""
        now = time.monotonic() if now is None else now
        if now - self.lag_measured_at < LAG_INTERVAL_SECONDS:
            return
        self.lag_measured_at = now
        try:
            assigned = self.consumer.assignment()
            committed = self.consumer.committed(assigned, timeout=1) if assigned else []
            lags = {}
            for tp in committed:
                low, high = self.consumer.get_watermark_offsets(tp, timeout=1, cached=False)
                lags[(tp.topic, str(tp.partition))] = partition_lag(tp.offset, low, high)
        except (KafkaException, RuntimeError) as exc:  # the broker away, or the consumer closing
            logger.debug("lag not measured (%s)", exc)
            return
        for labels, lag in lags.items():
            LAG.labels(*labels).set(lag)
        for labels in self.lag_labels - lags.keys():  # partitions this member no longer holds
            LAG.remove(*labels)
        self.lag_labels = set(lags)

    def run_forever(self) -> None:
        ensure_topics(
            self.config.kafka(),
            topic_layout(self.config.topic, self.config.num_partitions),
            replication=self.config.replication_factor,
            min_insync=self.config.min_insync_replicas,
            retention_hours=self.config.retention_hours,
        )
        self.consumer.subscribe([self.config.topic], on_revoke=self.on_revoke)
        logger.info("bridge started: %s, group %s", self.config.topic, self.config.group_id)
        try:
            while not self.stopping.is_set():
                if self.health.beat_due():
                    self.heartbeat()
                self.dead_letters.serve()
                self.measure_lag()
                try:
                    self.run_once()
                except KafkaException as exc:  # the loop outlives a broker that comes and goes
                    logger.warning("consumer error: %s", exc)
                    self.health.note(ok=False, error=f"Kafka: {exc}")
                    self.stopping.wait(RETRY_PAUSE_SECONDS)
        finally:
            try:
                self.commit()
            except RuntimeError:  # a consumer that cannot commit any more: the next owner re-reads
                pass
            self.consumer.close()  # leaves the group at once, so partitions move without waiting
            logger.info("bridge stopped: %s", self.counts)
