"""Health checks of the local processes, used by deploy.sh (`start` waits on them, `status` shows them).

Usage: health.py NAME...              print "NAME ok|down (detail)" per name; exit 0 only if all are ok
       health.py --wait SECONDS NAME...  check until all are ok; on time-out print the ones still down
       health.py --lag                    the Kafka brokers, each partition's leader and in-sync replicas,
                                          and the bridge's consumer lag per partition (committed vs end)

A scaled service's NAME may carry the number of its processes that must answer: `mailer:2`
(./deploy.sh scale): a Celery node each for a worker, a heartbeat each for the relay, a listening
socket each on the shared port for the API and the stream.
Settings come from the environment, with the defaults of the one table (common.defaults).
"""

import base64
import json
import re
import sys
import time
import urllib.request

from common.defaults import Settings  # installed with the project (pyproject.toml)
from common.kafka import KafkaAuth, client_config, is_under_replicated, partition_lag

TIMEOUT = 2.0
WORKERS = ("mailer", "workflow-agent")


SETTINGS = Settings()
KAFKA_AUTH = KafkaAuth.from_mapping(SETTINGS)


def _env(name: str) -> str:
    return SETTINGS[name]


def _http(url: str, credentials: str = "") -> str:
    """GET a loopback URL; `credentials` ("user:password") for a page behind basic auth."""
    request = urllib.request.Request(url)  # noqa: S310 (loopback http URLs only)
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (loopback URLs only)
        return f"HTTP {response.status}"


def _maildev_credentials() -> str:
    user, password = SETTINGS.get("MAILDEV_WEB_USER", ""), SETTINGS.get("MAILDEV_WEB_PASS", "")
    return f"{user}:{password}" if user and password else ""


def _broker_url() -> str:
    return _env("CELERY_BROKER_URL")


def _redis_url() -> str:
    return _env("REDIS_URL") or _broker_url()


# A process that is alive but has failed at every attempt for this long is reported down.
STUCK_AFTER_SECONDS = float(_env("HEALTH_STUCK_SECONDS"))


def heartbeat_verdict(raw: bytes | str | None, now: float) -> str:
    """What a heartbeat says: fresh, or why the process is not working (raises RuntimeError)."""
    if raw is None:
        raise RuntimeError("no heartbeat in the last 10 s")
    try:
        beat = json.loads(raw)
    except ValueError:
        return "heartbeat fresh"
    since = beat.get("failing_since") if isinstance(beat, dict) else None
    if since and now - since > STUCK_AFTER_SECONDS:
        raise RuntimeError(f"alive but failing for {now - since:.0f} s: {beat.get('error', '')}")
    return "heartbeat fresh" + (f", failing for {now - since:.0f} s" if since else "")


def _heartbeat(key: str) -> str:
    import redis

    client = redis.Redis.from_url(_redis_url(), socket_timeout=TIMEOUT)
    return heartbeat_verdict(client.get(key), time.time())


def _bootstrap() -> str:
    return _env("KAFKA_BOOTSTRAP_SERVERS")


def _topic() -> str:
    return _env("KAFKA_TOPIC")


def _kafka_metadata():
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient(client_config(_bootstrap(), KAFKA_AUTH, log_level=0)).list_topics(timeout=TIMEOUT)
    if not metadata.brokers:  # a fenced broker (still registering after a restart) is left out
        raise RuntimeError("no broker in the metadata yet")
    return metadata


def check_kafka_broker() -> str:
    """Every broker of the cluster is in the metadata (KAFKA_BROKERS of them locally)."""
    metadata = _kafka_metadata()
    wanted = int(_env("KAFKA_BROKERS"))
    if len(metadata.brokers) < wanted:
        raise RuntimeError(f"{len(metadata.brokers)} of {wanted} brokers in the metadata")
    return f"{len(metadata.brokers)} broker(s), {len(metadata.topics)} topics"


def under_replicated(topic) -> list[int]:
    """Partitions of a topic's metadata whose in-sync replicas are fewer than their replicas."""
    return sorted(p.id for p in topic.partitions.values() if is_under_replicated(p.replicas, p.isrs))


def check_kafka() -> str:
    """A metadata request that lists the event topic with every partition led by a live broker."""
    metadata = _kafka_metadata()
    topic = metadata.topics.get(_topic())
    if topic is None or topic.error is not None:
        raise RuntimeError(f"topic {_topic()} missing ({topic.error if topic else 'not in the metadata'})")
    leaderless = [p.id for p in topic.partitions.values() if p.leader < 0]
    if leaderless:
        raise RuntimeError(f"partitions without a leader: {leaderless}")
    replicas = min(len(p.replicas) for p in topic.partitions.values())
    lagging = under_replicated(topic)
    # Writes go on while at least KAFKA_MIN_INSYNC_REPLICAS replicas are in sync: an under-replicated
    # partition is reported, not a failure.
    return f"{_topic()}: {len(topic.partitions)} partitions, {replicas} replicas, {len(lagging)} under-replicated"


def print_cluster() -> None:
    """Each broker, and each partition's leader, replicas and in-sync replicas (the console's view too)."""
    try:
        metadata = _kafka_metadata()
    except Exception as exc:  # the cluster is away: the lag table below says so too
        print(f"brokers: unknown ({type(exc).__name__}: {exc})\n")
        return
    # No controller column: under KRaft the metadata names a random live broker as the controller
    # (`./deploy.sh kafka metadata-quorum describe --status` gives the quorum's leader).
    print(f"{'BROKER':<8} ADDRESS")
    for broker in sorted(metadata.brokers.values(), key=lambda b: b.id):
        print(f"{broker.id:<8} {broker.host}:{broker.port}")
    missing = int(_env("KAFKA_BROKERS")) - len(metadata.brokers)
    if missing > 0:
        print(f"{'-':<8} {'':<22} {missing} of {_env('KAFKA_BROKERS')} brokers not in the metadata")
    topic = metadata.topics.get(_topic())
    if topic is not None and topic.error is None:
        lagging = under_replicated(topic)
        print(f"\n{'PARTITION':<10} {'LEADER':>6} {'REPLICAS':>12} {'IN SYNC':>12}  ({len(lagging)} under-replicated)")
        for partition in sorted(topic.partitions.values(), key=lambda p: p.id):
            replicas, isrs = ",".join(map(str, partition.replicas)), ",".join(map(str, sorted(partition.isrs)))
            mark = "  under-replicated" if partition.id in lagging else ""
            print(f"{partition.id:<10} {partition.leader:>6} {replicas:>12} {isrs:>12}{mark}")
    print()


def consumer_lag(group: str, topic: str) -> list[tuple[int, int | None, int, int]]:
    """(partition, committed offset or None, end offset, lag) for each partition of `topic`."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        client_config(_bootstrap(), KAFKA_AUTH, **{"group.id": group, "enable.auto.commit": False, "log_level": 0})
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions)
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=TIMEOUT)
        rows = []
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=TIMEOUT)
            offset = tp.offset if tp.offset >= 0 else None
            rows.append((tp.partition, offset, high, partition_lag(offset, low, high)))
        return rows
    finally:
        consumer.close()


def print_lag() -> int:
    print_cluster()
    group, topic = _env("KAFKA_CONSUMER_GROUP"), _topic()
    try:
        rows = consumer_lag(group, topic)
    except Exception as exc:  # the broker is down: say so instead of a traceback
        print(f"consumer group {group} on {topic}: lag unknown ({type(exc).__name__}: {exc})")
        return 1
    print(f"consumer group {group} on {topic}")
    print(f"{'PARTITION':<10} {'COMMITTED':>10} {'END':>10} {'LAG':>8}")
    for partition, committed, end, lag in rows:
        print(f"{partition:<10} {'-' if committed is None else committed:>10} {end:>10} {lag:>8}")
    print(f"{'total':<10} {'':>10} {sum(r[2] for r in rows):>10} {sum(r[3] for r in rows):>8}")
    return 0


def check_redis() -> str:
    import redis

    redis.Redis.from_url(_redis_url(), socket_timeout=TIMEOUT).ping()
    return "PONG"


def listeners(port: int, tables: tuple[str, ...] = ("/proc/net/tcp", "/proc/net/tcp6")) -> int:
    """How many listening sockets this host has on `port`: one per process that bound it with
    SO_REUSEPORT (each API replica's gunicorn master, each stream process); a socket its children
    inherit is one line of the table, however many processes share it."""
    sockets = set()
    for table in tables:
        try:
            lines = open(table).read().splitlines()[1:]  # noqa: SIM115 (a /proc table, read whole)
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rpartition(":")[2], 16) == port:  # 0A: LISTEN
                sockets.add(inode)
    return len(sockets)


def _replicas_listening(port_setting: str, expected: int) -> str:
    """With `expected` > 1 (a scaled service), that many processes must listen on its one port."""
    if expected <= 1:
        return ""
    found = listeners(int(_env(port_setting)))
    if found < expected:
        raise RuntimeError(f"{found} of {expected} processes listen on {port_setting} {_env(port_setting)}")
    return f"{found} processes on the port"


def check_api(expected: int = 1) -> str:
    detail = _http(f"http://127.0.0.1:{_env('API_PORT')}/health")
    shared = _replicas_listening("API_PORT", expected)
    return f"{detail}, {shared}" if shared else detail


def check_stream(expected: int = 1) -> str:
    """The stream answers and hears the wake-up channel (without it, it only reads every 5 s); with
    `expected` > 1, that many stream processes listen on its port."""
    url = f"http://127.0.0.1:{_env('STREAM_PORT')}/health"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (a loopback URL)
        body = json.loads(response.read())
    if not body.get("subscribed"):
        raise RuntimeError("not subscribed to the wake-up channel (is Redis up?)")
    shared = _replicas_listening("STREAM_PORT", expected)
    return f"HTTP {response.status}, {body.get('viewers', 0)} live viewers" + (f", {shared}" if shared else "")


def check_relay(expected: int = 1) -> str:
    """Each of `expected` relays beats (health:relay:N, N from 0); one stuck relay is reported."""
    import redis

    client = redis.Redis.from_url(_redis_url(), socket_timeout=TIMEOUT)
    keys = [f"health:relay:{n}" for n in range(expected)]
    verdicts = []
    for key, raw in zip(keys, client.mget(keys), strict=True):
        try:
            verdicts.append(heartbeat_verdict(raw, time.time()))
        except RuntimeError as exc:
            raise RuntimeError(f"relay-{key.rpartition(':')[2]}: {exc}") from None
    return verdicts[0] if expected == 1 else f"{expected} heartbeats fresh"


def check_worker(service: str, expected: int = 1) -> str:
    """At least `expected` Celery workers of one service answer a ping: each of its processes is a node
    named SERVICE-N@host (SERVICE@host in Compose, where each container has a host name of its own)."""
    from celery import Celery

    replies = Celery(broker=_broker_url()).control.ping(timeout=TIMEOUT)
    own = re.compile(rf"{re.escape(service)}(-\d+)?@")
    nodes = {node for reply in replies for node in reply if own.match(node)}  # two with one name count once
    if not nodes:
        raise RuntimeError(f"no {service} worker answered a ping")
    if len(nodes) < expected:
        raise RuntimeError(f"{len(nodes)} of {expected} {service} workers answered a ping")
    return f"{len(nodes)} worker(s)"


CHECKS = {
    "kafka-broker": check_kafka_broker,
    "kafka": check_kafka,
    "redis": check_redis,
    "smtp": lambda: _http(f"http://127.0.0.1:{_env('MAILDEV_WEB_PORT')}/api/healthz", _maildev_credentials()),
    "prometheus": lambda: _http(f"http://127.0.0.1:{_env('PROMETHEUS_PORT')}/-/ready"),
    "crm": lambda: _http(f"http://127.0.0.1:{_env('CRM_PORT')}/crm/health"),
    "api": check_api,
    "stream": check_stream,
    "mailer": lambda: check_worker("mailer"),
    "workflow-agent": lambda: check_worker("workflow-agent"),
    "relay": check_relay,
    "bridge": lambda: _heartbeat("health:bridge"),
    "reconciler": lambda: _heartbeat("health:reconciler"),
    # Operator pages are behind basic auth (FLOWER_BASIC_AUTH: user:password, first pair if several).
    "flower": lambda: _http(
        f"http://127.0.0.1:{_env('FLOWER_PORT')}/healthcheck", SETTINGS.get("FLOWER_BASIC_AUTH", "").split(",")[0]
    ),
    "frontend": lambda: _http(f"http://127.0.0.1:{_env('FRONTEND_PORT')}/health"),
}


COUNTED = {"api": check_api, "stream": check_stream, "relay": check_relay}  # NAME:N checks N processes


def check(name: str) -> tuple[bool, str]:
    """One check by name: SERVICE, or SERVICE:N for a service that runs N processes."""
    service, _, count = name.partition(":")
    try:
        if service in WORKERS:
            detail = check_worker(service, int(count or 1))
        elif service in COUNTED:
            detail = COUNTED[service](int(count or 1))
        else:
            detail = CHECKS[service]()
        return True, f"{service} ok ({detail})"
    except (TimeoutError, Exception) as exc:  # any failure means "not healthy", with the reason
        return False, f"{service} down ({type(exc).__name__}: {exc})".replace("\n", " ")[:200]


def main(args: list[str]) -> int:
    if args == ["--lag"]:
        return print_lag()
    if args[:1] == ["--wait"]:
        deadline, pending = time.monotonic() + float(args[1]), list(args[2:])
        while pending:
            pending = [name for name in pending if not check(name)[0]]
            if pending and time.monotonic() > deadline:
                for name in pending:
                    print(check(name)[1])
                return 1
            if pending:
                time.sleep(0.1)  # the poll interval of the wait
        return 0
    results = [check(name) for name in args or [name for name in CHECKS if name != "kafka-broker"]]
    for _, line in results:
        print(line)
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
