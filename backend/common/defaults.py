"""Every setting's default, once: the table that the Django settings, the bridge, the health checks,
the operations CLI (./deploy.sh) and `.env.example` take theirs from (a unit test checks the example
file and docs/configuration.md against it).

`Settings(environ)` is the view they all read through: a name that is unset or empty in `environ`
takes its value from DERIVED (defaults that follow other settings: the public URLs follow the ports)
or DEFAULTS. Reading `.env` itself is django-environ's job (`environ.Env.read_env`); what the process
environment already has wins over the file.

Standard library only: the bridge and the CLI import it without Django.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

REPO_DIR = Path(__file__).resolve().parent.parent.parent

# Every setting's default, as .env would spell it.
DEFAULTS: dict[str, str] = {
    # API, stream, frontend
    "API_PORT": "5000",
    "STREAM_PORT": "5001",
    "STREAM_MAX_VIEWERS": "5000",
    "FRONTEND_PORT": "3000",
    "BIND_HOST": "127.0.0.1",
    "METRICS_ALLOWED_HOSTS": "",
    "API_WORKERS": "2",
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1,[::1]",
    "DATABASE_URL": "",
    "CRM_DATABASE_URL": "",
    "DATABASE_CONN_MAX_AGE": "60",
    "SUBMISSION_RATE_LIMIT": "30/minute",
    "DEMO_CONTROLS": "false",
    "MAX_REQUEST_BODY_BYTES": "262144",
    "API_REQUEST_TIMEOUT": "10",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    "BENCH_BASELINE": "false",
    "BENCH_BASELINE_CRM_LATENCY_MS": "100",
    # Security and personal data
    "PRODUCTION": "false",
    "BUNDLED_PROXY_HOPS": "0",
    "PUBLIC_BIND_ADDRESS": "127.0.0.1",
    # Compose's operator pages, on the host's loopback
    "KAFKA_UI_PORT": "8080",
    "PROMETHEUS_PORT": "9090",
    "PROMETHEUS_RETENTION": "15d",
    "PROMETHEUS_SCRAPE_INTERVAL": "15s",
    "GRAFANA_PORT": "3001",
    "TRUSTED_PROXIES": "0",
    "CSRF_TRUSTED_ORIGINS": "",
    "ADMIN_LOGIN_FAILURE_LIMIT": "5",
    "ADMIN_LOGIN_LOCKOUT_MINUTES": "15",
    "SUBMISSION_ACCESS_HOURS": "24",
    "STREAM_MAX_PER_CLIENT": "20",
    "CONFIRMATIONS_PER_RECIPIENT": "3",
    "CONFIRMATION_WINDOW_HOURS": "24",
    "DATA_RETENTION_DAYS": "90",
    "PURGE_INTERVAL": "3600",
    # Kafka, relay, bridge
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "KAFKA_TOPIC": "events.contact_form",
    "KAFKA_NUM_PARTITIONS": "3",
    "KAFKA_RETENTION_HOURS": "168",
    # Local mode: how many KRaft nodes (each broker and controller) run; 3 makes a cluster whose
    # topics have three replicas (docs/beyond-one-machine.md).
    "KAFKA_BROKERS": "1",
    "KAFKA_CONSUMER_GROUP": "bridge",
    "KAFKA_GROUP_INSTANCE_ID": "",
    "KAFKA_SESSION_TIMEOUT_MS": "45000",
    "KAFKA_CONSUMER_MAX_POLL_RECORDS": "10",
    "KAFKA_HEAP_OPTS": "-Xmx256m -Xms64m",
    "KAFKA_SASL_USERNAME": "pipeline",
    "KAFKA_SASL_PASSWORD": "",
    "KAFKA_SASL_MECHANISM": "PLAIN",
    "KAFKA_SECURITY_PROTOCOL": "",
    "BRIDGE_DEDUPE_TTL_SECONDS": "604800",
    "OUTBOX_POLL_INTERVAL": "1.0",
    "OUTBOX_BATCH_SIZE": "100",
    "OUTBOX_LINGER_SECONDS": "0.02",
    "OUTBOX_CLAIM_SECONDS": "30",
    "EVENT_SOURCE": "urn:intake:backend",
    # Redis, Celery, the reconciler
    "REDIS_PORT": "6379",
    "REDIS_PASSWORD": "",
    "REDIS_URL": "",
    "MAILER_CONCURRENCY": "4",
    "WORKFLOW_CONCURRENCY": "4",
    "WORKER_NICE": "10",
    "FLOWER_PORT": "5555",
    "FLOWER_MAX_TASKS": "5000",
    "TASK_MAX_RETRIES": "14",
    "TASK_RETRY_BACKOFF_MAX": "30",
    "CELERY_VISIBILITY_TIMEOUT": "180",
    "RECONCILE_INTERVAL": "5",
    "RECONCILE_STALL_SECONDS": "60",
    "RECONCILE_MAIL_HANDOFF_SECONDS": "5",
    "RECONCILE_BACKLOG_LIMIT": "100",
    "HEALTH_STUCK_SECONDS": "30",
    # Prometheus /metrics of the processes without an HTTP server (0: none)
    "METRICS_REPLICA": "0",
    "METRICS_PORT_API": "0",
    "METRICS_PORT_RELAY": "9101",
    "METRICS_PORT_BRIDGE": "9102",
    "METRICS_PORT_MAILER": "9103",
    "METRICS_PORT_WORKFLOW_AGENT": "9104",
    "METRICS_PORT_RECONCILER": "9105",
    # Email
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": "1025",
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "SMTP_USE_TLS": "false",
    "SMTP_TIMEOUT": "10",
    "SMTP_DATA_TIMEOUT": "600",
    "MAIL_UNKNOWN_OUTCOME_WAIT": "600",
    "MAIL_LEASE_SECONDS": "10",
    "MAIL_RETRY_HORIZON": "21600",
    "MAIL_RETRY_BACKOFF_MAX": "60",
    "DJANGO_EMAIL_BACKEND": "mailer.transport.EmailBackend",
    "FROM_EMAIL": "noreply@event-driven-poc.com",
    "SITE_NAME": "Event-driven intake",
    "MAILDEV_WEB_PORT": "1080",
    "SMTP_CATCHER_RETENTION_HOURS": "24",
    # CRM
    "CRM_PORT": "8001",
    "CRM_API_TOKEN": "",
    "CRM_API_TIMEOUT": "5",
    "CRM_LATENCY_MS": "0",
    "CRM_FAIL_RATE": "0",
    "CRM_FAIL_STATUS": "503",
    "CRM_FAIL_METHODS": "GET,POST,DELETE",
    "LEAD_OWNERS": "alice@sales.example,bob@sales.example,carol@sales.example",
}


def first_bootstrap(settings: Mapping[str, str]) -> tuple[str, int]:
    """Host and port of the first KAFKA_BOOTSTRAP_SERVERS address: where the local broker (node 0 of
    a local cluster) listens (127.0.0.1 when the host is left out)."""
    host, _, port = settings["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].strip().rpartition(":")
    return host or "127.0.0.1", int(port)


def _kafka_controller_port(settings: Mapping[str, str]) -> str:
    return str(first_bootstrap(settings)[1] + 1)


def kafka_nodes(settings: Mapping[str, str]) -> list[tuple[str, int, int]]:
    """(host, client port, controller port) of each local KRaft node: node N listens on the first
    bootstrap address's port + 2N, its controller on KAFKA_CONTROLLER_PORT + 2N (9092/9093, 9094/9095,
    9096/9097 by default)."""
    host, port = first_bootstrap(settings)
    controller = int(settings["KAFKA_CONTROLLER_PORT"])
    return [(host, port + 2 * n, controller + 2 * n) for n in range(int(settings["KAFKA_BROKERS"]))]


def kafka_cluster_bootstrap(settings: Mapping[str, str]) -> str:
    """What clients of a local cluster bootstrap from: every node, so that any one of them can be down."""
    return ",".join(f"{host}:{port}" for host, port, _ in kafka_nodes(settings))


def _production(settings: Mapping[str, str]) -> bool:
    return settings["PRODUCTION"].strip().lower() in ("true", "on", "ok", "y", "yes", "1")  # django-environ's


def _redis_auth(settings: Mapping[str, str]) -> str:
    """The user-info part of a Redis URL: `:password@` when Redis asks for one (REDIS_PASSWORD)."""
    password = settings.get("REDIS_PASSWORD", "")
    return f":{quote(password, safe='')}@" if password else ""


# Defaults that follow other settings, so that changing a port (as `start` advises when one is
# taken) moves every address built on it: the browser's, CORS's, Celery's, the workflow's.
DERIVED: dict[str, Callable[[Mapping[str, str]], str]] = {
    "API_PUBLIC_URL": lambda s: f"http://localhost:{s['API_PORT']}",
    "STREAM_PUBLIC_URL": lambda s: f"http://localhost:{s['STREAM_PORT']}",
    "CORS_ORIGINS": lambda s: f"http://localhost:{s['FRONTEND_PORT']},http://127.0.0.1:{s['FRONTEND_PORT']}",
    "PUBLIC_URL": lambda s: f"http://localhost:{s['FRONTEND_PORT']}",
    "CELERY_BROKER_URL": lambda s: f"redis://{_redis_auth(s)}127.0.0.1:{s['REDIS_PORT']}/0",
    "CRM_API_BASE": lambda s: f"http://127.0.0.1:{s['CRM_PORT']}/crm/api",
    "KAFKA_CONTROLLER_PORT": _kafka_controller_port,
    "KAFKA_DATA_DIR": lambda s: str(REPO_DIR / "data" / "kafka"),
    # Replicas of each topic: one per broker, three at most; a write needs all but one of them.
    "KAFKA_REPLICATION_FACTOR": lambda s: str(min(3, int(s["KAFKA_BROKERS"]))),
    "KAFKA_MIN_INSYNC_REPLICAS": lambda s: str(max(1, int(s["KAFKA_REPLICATION_FACTOR"]) - 1)),
    # Django's HTTPS settings: all on in production (HSTS for a year), off on a local stack.
    "DJANGO_SECURE_SSL_REDIRECT": lambda s: str(_production(s)).lower(),
    "DJANGO_SECURE_HSTS_SECONDS": lambda s: "31536000" if _production(s) else "0",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": lambda s: str(_production(s)).lower(),
    "DJANGO_SECURE_HSTS_PRELOAD": lambda s: str(_production(s)).lower(),
    "DJANGO_SESSION_COOKIE_SECURE": lambda s: str(_production(s)).lower(),
    "DJANGO_CSRF_COOKIE_SECURE": lambda s: str(_production(s)).lower(),
}

# The CLI takes these from the process environment only (docs/configuration.md), never from .env.
ENVIRONMENT_ONLY = frozenset({"DEPLOY_MODE", "RUN_DIR", "VENV", "HEALTH_TIMEOUT", "ENV_FILE"})


class Settings(Mapping[str, str]):
    """`environ` (os.environ by default) with DERIVED and DEFAULTS for each name unset or empty in it.

    A view, read at each lookup: nothing is written into os.environ, so a child process given other
    ports derives its own addresses instead of inheriting its parent's.
    """

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ

    def __getitem__(self, name: str) -> str:
        value = self._environ.get(name)
        if value:
            return value
        if name in DERIVED:
            return DERIVED[name](self)
        if name in DEFAULTS:
            return DEFAULTS[name]
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        yield from self._environ
        yield from (name for name in (*DEFAULTS, *DERIVED) if name not in self._environ)

    def __len__(self) -> int:
        return sum(1 for _ in self)
