"""The console's reads of Kafka, over the Kafka protocol (confluent-kafka), returned as plain data.

Every read is bounded in time: one request waits at most REQUEST_SECONDS and one page's reads at
most PAGE_SECONDS, so a broker that is down or slow costs an operator a few seconds and a clear
message (ConsoleError), never a hung page. Nothing here commits an offset: the reader's group id is
never registered with the broker, and it never shows up among the consumer groups.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_INVALID,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka.admin import AdminClient, OffsetSpec
from django.conf import settings

from common.kafka import client_config as kafka_client_config
from common.kafka import is_under_replicated, partition_lag
from console.formatting import Record, record_from_message

logger = logging.getLogger(__name__)

REQUEST_SECONDS = 3.0
PAGE_SECONDS = 5.0
DEFAULT_RECORDS = 50
MAX_RECORDS = 500
# The key search reads backwards from each partition's end, STEP records at a time, at most
# SEARCH_DEPTH records per partition: a submission's events are recent, and a page must stay quick.
SEARCH_DEPTH = 10_000
SEARCH_STEP = 1_000
MAX_GROUPS = 200
READER_GROUP = "console-reader"  # required by the client; assign() and no commit keep it unregistered


class ConsoleError(RuntimeError):
    """Kafka did not answer, or has nothing where the console looked; the message is for the page."""


class Deadline:
    """The time a page has left for Kafka."""

    def __init__(self, seconds: float | None = None):
        self.at = time.monotonic() + (PAGE_SECONDS if seconds is None else seconds)

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def request(self) -> float:
        """How long the next request may wait: REQUEST_SECONDS, or less near the end."""
        return max(0.1, min(REQUEST_SECONDS, self.left()))


@dataclass(frozen=True)
class PartitionOffsets:
    partition: int
    earliest: int | None
    end: int | None
    error: str = ""
    leader: int | None = None  # broker ids, from the metadata
    replicas: tuple[int, ...] = ()
    in_sync: tuple[int, ...] = ()

    @property
    def under_replicated(self) -> bool:
        return is_under_replicated(self.replicas, self.in_sync)

    @property
    def records(self) -> int | None:
        return None if self.earliest is None or self.end is None else self.end - self.earliest


@dataclass(frozen=True)
class TopicOffsets:
    name: str
    partitions: list[PartitionOffsets]

    @property
    def records(self) -> int:
        return sum(p.records or 0 for p in self.partitions)


@dataclass(frozen=True)
class GroupPartition:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed this partition
    earliest: int | None
    end: int | None

    @property
    def lag(self) -> int | None:
        """Records the group has still to read (a partition never committed counts from its first record)."""
        return partition_lag(self.committed, self.earliest, self.end)


@dataclass(frozen=True)
class ConsumerGroup:
    group_id: str
    state: str
    kind: str
    members: int
    partitions: list[GroupPartition] = field(default_factory=list)
    error: str = ""

    @property
    def lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)


@dataclass(frozen=True)
class GroupsPage:
    groups: list[ConsumerGroup]
    more: int  # groups left out beyond MAX_GROUPS


@dataclass(frozen=True)
class RecordsPage:
    topic: str
    topics: list[str]
    records: list[Record]  # newest first
    complete: bool  # False: time ran out before every partition was read


@dataclass(frozen=True)
class ScannedRange:
    partition: int
    first: int  # the oldest offset read
    end: int
    earliest: int

    @property
    def whole(self) -> bool:
        return self.first <= self.earliest


@dataclass(frozen=True)
class KeySearch:
    topic: str
    topics: list[str]
    key: str
    records: list[Record]  # oldest first: the order the bridge saw them in
    scanned: list[ScannedRange]
    complete: bool  # False: time ran out before SEARCH_DEPTH records of every partition were read
    depth: int = SEARCH_DEPTH


@dataclass(frozen=True)
class RawRecord:
    """One record's bytes, for a replay."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


def client_config(**extra) -> dict:
    """The settings every console client shares; librdkafka's own log only for what is critical
    (a refused connection is reported on the page, not logged on every request)."""
    return kafka_client_config(
        settings.KAFKA_BOOTSTRAP_SERVERS, settings.KAFKA_AUTH, **{"client.id": "console", "log_level": 2, **extra}
    )


def _reason(exc: Exception) -> str:
    """What went wrong, in Kafka's words where it has them."""
    if exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].str()
    return str(exc) or type(exc).__name__


def _unavailable(what: str, exc: Exception) -> ConsoleError:
    reason = _reason(exc)
    logger.warning("console: Kafka at %s did not answer %s: %s", settings.KAFKA_BOOTSTRAP_SERVERS, what, reason)
    return ConsoleError(f"Kafka at {settings.KAFKA_BOOTSTRAP_SERVERS} did not answer {what}: {reason}")


def _admin() -> AdminClient:
    return AdminClient(client_config())


@contextmanager
def _consumer() -> Iterator[KafkaConsumer]:
    consumer = KafkaConsumer(
        client_config(
            **{
                "group.id": READER_GROUP,
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",  # an offset deleted by retention meanwhile: the oldest kept
                "fetch.wait.max.ms": 100,
                "queued.max.messages.kbytes": 4096,
            }
        )
    )
    try:
        yield consumer
    finally:
        consumer.close()


def _metadata(admin: AdminClient, deadline: Deadline):
    """The cluster's metadata (one request: it also tells whether Kafka answers)."""
    try:
        return admin.list_topics(timeout=deadline.request())
    except KafkaException as exc:
        raise _unavailable("a metadata request", exc) from exc


def _partitions(admin: AdminClient, deadline: Deadline) -> dict[str, list[int]]:
    """Every topic with its partitions."""
    metadata = _metadata(admin, deadline)
    return {name: sorted(topic.partitions) for name, topic in metadata.topics.items() if topic.error is None}


@dataclass(frozen=True)
class Broker:
    id: int
    address: str


def brokers() -> list[Broker]:
    """The brokers in the metadata now. Not the active controller: under KRaft a broker names a random
    live broker as the metadata's controller (clients do not reach the controllers), so only the
    quorum's own answer says which one it is (`kafka metadata-quorum describe --status`)."""
    metadata = _metadata(_admin(), Deadline())
    return [Broker(b.id, f"{b.host}:{b.port}") for b in sorted(metadata.brokers.values(), key=lambda b: b.id)]


def _offsets(admin: AdminClient, wanted: list[tuple[str, int]], deadline: Deadline) -> dict[tuple[str, int], tuple]:
    """(earliest, end, error) of each (topic, partition), asked for all at once."""
    if not wanted:
        return {}
    timeout = deadline.request()
    asked = {
        spec: admin.list_offsets(
            {TopicPartition(topic, partition): make() for topic, partition in wanted}, request_timeout=timeout
        )
        for spec, make in (("earliest", OffsetSpec.earliest), ("end", OffsetSpec.latest))
    }
    found: dict[tuple[str, int], dict] = {pair: {"earliest": None, "end": None, "error": ""} for pair in wanted}
    for spec, futures in asked.items():
        for tp, future in futures.items():
            try:
                found[(tp.topic, tp.partition)][spec] = future.result(timeout=timeout + 1).offset
            except (KafkaException, TimeoutError) as exc:
                found[(tp.topic, tp.partition)]["error"] = _reason(exc)
    if wanted and all(row["error"] for row in found.values()):
        raise ConsoleError(f"Kafka at {settings.KAFKA_BOOTSTRAP_SERVERS} gave no offsets: {found[wanted[0]]['error']}")
    return {pair: (row["earliest"], row["end"], row["error"]) for pair, row in found.items()}


def topic_names() -> list[str]:
    """The names of the topics, internal ones (`__…`) left out."""
    return sorted(name for name in _partitions(_admin(), Deadline()) if not name.startswith("__"))


def topics_with_offsets(*, include_internal: bool = False) -> list[TopicOffsets]:
    """Each topic with its partitions' earliest and end offsets (watermarks)."""
    admin, deadline = _admin(), Deadline()
    metadata = _metadata(admin, deadline)
    layout = {
        name: topic.partitions
        for name, topic in metadata.topics.items()
        if topic.error is None and (include_internal or not name.startswith("__"))
    }
    offsets = _offsets(admin, [(name, p) for name, partitions in layout.items() for p in partitions], deadline)
    return [
        TopicOffsets(
            name,
            [
                PartitionOffsets(
                    p,
                    *offsets[(name, p)],
                    leader=partitions[p].leader,
                    replicas=tuple(partitions[p].replicas),
                    in_sync=tuple(sorted(partitions[p].isrs)),
                )
                for p in sorted(partitions)
            ],
        )
        for name, partitions in sorted(layout.items())
    ]


def _group_description(future, timeout: float) -> tuple[str, str, int, str]:
    try:
        description = future.result(timeout=timeout + 1)
    except (KafkaException, TimeoutError) as exc:
        return "UNKNOWN", "", 0, _reason(exc)
    kind = getattr(description, "type", None)
    return description.state.name, kind.name if kind is not None else "", len(description.members), ""


def _committed(future, timeout: float) -> tuple[dict[tuple[str, int], int | None], str]:
    try:
        result = future.result(timeout=timeout + 1)
    except (KafkaException, TimeoutError) as exc:
        return {}, _reason(exc)
    committed = {}
    for tp in result.topic_partitions or []:
        committed[(tp.topic, tp.partition)] = None if tp.offset in (OFFSET_INVALID, -1) else tp.offset
    return committed, ""


def consumer_groups() -> GroupsPage:
    """Each consumer group: state, members, and per partition its committed offset and lag."""
    admin, deadline = _admin(), Deadline()
    _partitions(admin, deadline)  # a broker that is down fails here, with the clearest message
    timeout = deadline.request()
    try:
        listing = admin.list_consumer_groups(request_timeout=timeout).result(timeout=timeout + 1)
    except (KafkaException, TimeoutError) as exc:
        raise _unavailable("the list of consumer groups", exc) from exc
    if listing.errors and not listing.valid:
        raise ConsoleError(f"Kafka at {settings.KAFKA_BOOTSTRAP_SERVERS} listed no groups: {listing.errors[0]}")
    ids = sorted(group.group_id for group in listing.valid)
    shown, more = ids[:MAX_GROUPS], max(0, len(ids) - MAX_GROUPS)
    if not shown:
        return GroupsPage([], 0)
    timeout = deadline.request()
    descriptions = admin.describe_consumer_groups(shown, request_timeout=timeout)
    # One group per request (the client's limit), all in flight at once.
    offsets = {
        group: admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=timeout)[group]
        for group in shown
    }
    described = {group: _group_description(descriptions[group], timeout) for group in shown}
    committed = {group: _committed(offsets[group], timeout) for group in shown}
    pairs = sorted({pair for group in shown for pair in committed[group][0]})
    watermarks = _offsets(admin, pairs, deadline)
    groups = []
    for group in shown:
        state, kind, members, describe_error = described[group]
        partitions, offsets_error = committed[group]
        rows = [
            GroupPartition(topic, partition, offset, *watermarks[(topic, partition)][:2])
            for (topic, partition), offset in sorted(partitions.items())
        ]
        error = "; ".join(e for e in (describe_error, offsets_error) if e)
        groups.append(ConsumerGroup(group, state, kind, members, rows, error))
    return GroupsPage(groups, more)


def _read(
    consumer: KafkaConsumer, topic: str, ranges: dict[int, tuple[int, int]], deadline: Deadline
) -> tuple[list[Message], bool]:
    """The records of each partition's [start, end) range; returns them and whether all were read."""
    pending = {partition: end for partition, (start, end) in ranges.items() if start < end}
    if not pending:
        return [], True
    assignment = [TopicPartition(topic, partition, ranges[partition][0]) for partition in pending]
    consumer.assign(assignment)
    consumer.resume(assignment)  # a partition paused in an earlier range stays paused otherwise
    messages: list[Message] = []
    next_offset = {partition: ranges[partition][0] for partition in pending}
    while pending and deadline.left() > 0:
        # Ask for no more than the ranges still hold: consume() returns once it has that many,
        # instead of waiting out its timeout for a batch that cannot fill.
        expected = sum(pending[partition] - next_offset[partition] for partition in pending)
        batch = consumer.consume(num_messages=max(1, min(500, expected)), timeout=min(0.5, deadline.left()))
        for message in batch:
            partition = message.partition()
            if partition not in pending:
                continue
            error = message.error()
            if error is not None and error.code() != KafkaError._PARTITION_EOF:
                raise ConsoleError(f"reading {topic}[{partition}]: {error.str()}")
            if error is None and message.offset() < pending[partition]:
                messages.append(message)
                next_offset[partition] = message.offset() + 1
            # The end of the partition also ends a range whose last offsets hold no record
            # (transaction markers, compaction).
            if error is not None or message.offset() >= pending[partition] - 1:
                del pending[partition]
                consumer.pause([TopicPartition(topic, partition)])
    return messages, not pending


def _layout(admin: AdminClient, topic: str, deadline: Deadline) -> tuple[list[str], list[int]]:
    partitions = _partitions(admin, deadline)
    if topic not in partitions:
        raise ConsoleError(f"there is no topic {topic!r}")
    return sorted(name for name in partitions if not name.startswith("__")), partitions[topic]


def latest_records(topic: str, *, partition: int | None = None, limit: int = DEFAULT_RECORDS) -> RecordsPage:
    """The newest `limit` records of a topic (or of one of its partitions), newest first."""
    limit = max(1, min(limit, MAX_RECORDS))
    admin, deadline = _admin(), Deadline()
    names, partitions = _layout(admin, topic, deadline)
    if partition is not None:
        if partition not in partitions:
            raise ConsoleError(f"topic {topic!r} has no partition {partition} (it has {len(partitions)})")
        partitions = [partition]
    offsets = _offsets(admin, [(topic, p) for p in partitions], deadline)
    ranges = {}
    for p in partitions:
        earliest, end, _ = offsets[(topic, p)]
        if earliest is not None and end is not None:
            ranges[p] = (max(earliest, end - limit), end)
    with _consumer() as consumer:
        messages, complete = _read(consumer, topic, ranges, deadline)
    records = sorted(
        (record_from_message(m) for m in messages),
        key=lambda r: (r.timestamp is not None, r.timestamp, r.offset, r.partition),
        reverse=True,
    )
    return RecordsPage(topic, names, records[:limit], complete)


def records_with_key(topic: str, key: str, *, depth: int = SEARCH_DEPTH, step: int = SEARCH_STEP) -> KeySearch:
    """The records whose key is `key`, from the newest `depth` records of each partition, read
    backwards `step` at a time so that what time allows covers the newest records first."""
    wanted = key.encode()
    admin, deadline = _admin(), Deadline()
    names, partitions = _layout(admin, topic, deadline)
    offsets = _offsets(admin, [(topic, p) for p in partitions], deadline)
    marks = {p: offsets[(topic, p)][:2] for p in partitions if None not in offsets[(topic, p)][:2]}
    floor = {p: max(earliest, end - depth) for p, (earliest, end) in marks.items()}
    cursor = {p: end for p, (_, end) in marks.items()}  # [cursor, end) has been read
    found: list[Message] = []
    complete = True
    with _consumer() as consumer:
        while any(cursor[p] > floor[p] for p in cursor):
            ranges = {p: (max(floor[p], cursor[p] - step), cursor[p]) for p in cursor if cursor[p] > floor[p]}
            messages, done = _read(consumer, topic, ranges, deadline)
            found.extend(m for m in messages if m.key() == wanted)
            if not done:
                complete = False
                break
            cursor.update({p: start for p, (start, _) in ranges.items()})
    records = sorted((record_from_message(m) for m in found), key=lambda r: (r.partition, r.offset))
    scanned = [ScannedRange(p, cursor[p], end, earliest) for p, (earliest, end) in sorted(marks.items())]
    return KeySearch(topic, names, key, records, scanned, complete, depth)


def record_at(topic: str, partition: int, offset: int) -> RawRecord:
    """The bytes of one record, for a replay."""
    admin, deadline = _admin(), Deadline()
    _, partitions = _layout(admin, topic, deadline)
    if partition not in partitions:
        raise ConsoleError(f"topic {topic!r} has no partition {partition}")
    with _consumer() as consumer:
        messages, _ = _read(consumer, topic, {partition: (offset, offset + 1)}, deadline)
    message = next((m for m in messages if m.offset() == offset), None)
    if message is None:
        raise ConsoleError(f"there is no record at {topic}[{partition}]@{offset} (deleted by retention?)")
    return RawRecord(topic, partition, offset, message.key(), message.value(), list(message.headers() or []))
