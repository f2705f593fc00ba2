"""Health checks of the local processes, used by deploy.sh (`start` waits on them, `status` shows them).

Usage: health.py NAME...              print "NAME ok|down (detail)" per name; exit 0 only if all are ok
       health.py --wait SECONDS NAME...  check until all are ok; on time-out print the ones still down
"""

import os
import sys
import time
import urllib.request

TIMEOUT = 2.0


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _http(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (loopback URLs only)
        return f"HTTP {response.status}"


def _broker_url() -> str:
    return _env("CELERY_BROKER_URL", f"redis://127.0.0.1:{_env('REDIS_PORT', '6379')}/0")


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or _broker_url()


def _heartbeat(key: str) -> str:
    import redis

    client = redis.Redis.from_url(_redis_url(), socket_timeout=TIMEOUT)
    if not client.exists(key):
        raise RuntimeError("no heartbeat in the last 10 s")
    return "heartbeat fresh"


def check_kafka() -> str:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": _env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")})
    topics = admin.list_topics(timeout=TIMEOUT).topics
    return f"{len(topics)} topics"


def check_redis() -> str:
    import redis

    redis.Redis.from_url(_redis_url(), socket_timeout=TIMEOUT).ping()
    return "PONG"


def check_worker() -> str:
    from celery import Celery

    replies = Celery(broker=_broker_url()).control.ping(timeout=TIMEOUT)
    if not replies:
        raise RuntimeError("no worker answered a ping")
    return f"{len(replies)} worker(s)"


CHECKS = {
    "kafka": check_kafka,
    "redis": check_redis,
    "smtp": lambda: _http(f"http://127.0.0.1:{_env('MAILDEV_WEB_PORT', '1080')}/api/healthz"),
    "crm": lambda: _http(f"http://127.0.0.1:{_env('CRM_PORT', '8001')}/crm/health"),
    "api": lambda: _http(f"http://127.0.0.1:{_env('API_PORT', '5000')}/health"),
    "worker": check_worker,
    "relay": lambda: _heartbeat("health:relay"),
    "bridge": lambda: _heartbeat("health:bridge"),
    "flower": lambda: _http(f"http://127.0.0.1:{_env('FLOWER_PORT', '5555')}/healthcheck"),
    "frontend": lambda: _http(f"http://127.0.0.1:{_env('FRONTEND_PORT', '3000')}/health"),
}


def check(name: str) -> tuple[bool, str]:
    try:
        return True, f"{name} ok ({CHECKS[name]()})"
    except (TimeoutError, Exception) as exc:  # any failure means "not healthy", with the reason
        return False, f"{name} down ({type(exc).__name__}: {exc})".replace("\n", " ")[:200]


def main(args: list[str]) -> int:
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
    results = [check(name) for name in args or list(CHECKS)]
    for _, line in results:
        print(line)
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
