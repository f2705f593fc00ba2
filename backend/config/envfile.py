"""The settings file (`.env`) and every default: the one reader of both, for deploy.sh and the code.

    python3 backend/config/envfile.py export [--env-file FILE]   the resolved settings, as shell lines
    python3 backend/config/envfile.py read FILE NAME             NAME's value in FILE alone (or nothing)

`export` prints `export NAME='value'` lines, which deploy.sh evaluates: every name of the file, every
default and every derived value, with what the process environment already has winning over the
file. config/env.py reads the file with the same `parse` and sees the same defaults through
`Settings`, so a line of `.env` means one thing to deploy.sh, the Django processes and their
settings.

Standard library only, and run by its path: deploy.sh reads the settings with the system's python3
before any virtualenv exists (`python3 -m config.envfile` would import the `config` package, which
imports Celery).

The rules are django-environ's `Env.read_env` (what the bridge still calls; a unit test reads one
file both ways): a line is `NAME=value` or `export NAME=value`, with nothing before the name and no
space around `=`; other lines are ignored. A value wholly in single quotes loses them; one wholly in
double quotes loses them and its backslash escapes (`\\"` is `"`; `\\n`, `\\r` and `\\t` stay as
written). Nothing else is stripped: `a # b` is the value `a # b`. A later line wins over an earlier one.

Then the defaults: a name that is unset or empty takes its value from DERIVED (which follows other
settings: the public URLs follow the ports) or DEFAULTS.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from urllib.parse import quote

REPO_DIR = Path(__file__).resolve().parent.parent.parent

# Every setting's default, as .env would spell it. The settings modules read them through `Settings`
# (their own `default=` arguments say the same, which a unit test checks); deploy.sh and the health
# checks get theirs from here too.
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
    "PUBLIC_BIND_ADDRESS": "127.0.0.1",
    # Compose's operator pages, on the host's loopback
    "KAFKA_UI_PORT": "8080",
    "PROMETHEUS_PORT": "9090",
    "PROMETHEUS_RETENTION": "15d",
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
    "KAFKA_REPLICATION_FACTOR": "1",
    "KAFKA_CONSUMER_GROUP": "bridge",
    "KAFKA_GROUP_INSTANCE_ID": "",
    "KAFKA_SESSION_TIMEOUT_MS": "45000",
    "KAFKA_CONSUMER_MAX_POLL_RECORDS": "10",
    "KAFKA_HEAP_OPTS": "-Xmx512m -Xms128m",
    "KAFKA_SASL_USERNAME": "pipeline",
    "KAFKA_SASL_PASSWORD": "",
    "KAFKA_SASL_MECHANISM": "PLAIN",
    "KAFKA_SECURITY_PROTOCOL": "",
    "BRIDGE_DEDUPE_TTL_SECONDS": "604800",
    "OUTBOX_POLL_INTERVAL": "1.0",
    "OUTBOX_BATCH_SIZE": "100",
    "OUTBOX_LINGER_SECONDS": "0.005",
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
    "CRM_API_TIMEOUT": "5",
    "CRM_LATENCY_MS": "0",
    "CRM_FAIL_RATE": "0",
    "CRM_FAIL_STATUS": "503",
    "CRM_FAIL_METHODS": "GET,POST,DELETE",
    "LEAD_OWNERS": "alice@sales.example,bob@sales.example,carol@sales.example",
}


def _kafka_controller_port(settings: Mapping[str, str]) -> str:
    first = settings["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].strip()
    return str(int(first.rsplit(":", 1)[1]) + 1)


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
}

# deploy.sh takes these from the process environment only (README: Configuration), never from .env.
ENVIRONMENT_ONLY = frozenset({"DEPLOY_MODE", "RUN_DIR", "VENV", "HEALTH_TIMEOUT", "ENV_FILE"})

# django-environ's Env.read_env, expression for expression (parse_comments=False, its default).
_LINE = re.compile(r"\A(?:export )?([A-Za-z_0-9]+)=(.*)\Z")
_SINGLE_QUOTED = re.compile(r"\A'(.*)'\Z")
_DOUBLE_QUOTED = re.compile(r'\A"(.*)"\Z')
_ESCAPED = re.compile(r"\\(.)")
_SHELL_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")


def _unescape(match: re.Match[str]) -> str:
    char = match.group(1)
    return "\\" + char if char in "rnt" else char  # \n, \r, \t stay escaped, as django-environ keeps them


def parse_lines(text: str) -> Iterator[tuple[int, str | None, str]]:
    """(line number, name or None for a line that is not a setting, value) for each line of `text`."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            yield number, None, line
            continue
        name, value = match.groups()
        single = _SINGLE_QUOTED.match(value)
        if single:
            value = single.group(1)
        double = _DOUBLE_QUOTED.match(value)
        if double:
            value = _ESCAPED.sub(_unescape, double.group(1))
        yield number, name, value


def parse(text: str) -> dict[str, str]:
    """The settings a file's text holds (a later line wins over an earlier one)."""
    return {name: value for _, name, value in parse_lines(text) if name is not None}


def read(path: str | os.PathLike[str]) -> dict[str, str]:
    """The settings in the file at `path`; none if it cannot be read (as django-environ does)."""
    try:
        return parse(Path(path).read_text(encoding="utf8"))
    except OSError:
        return {}


def load(path: str | os.PathLike[str], environ: MutableMapping[str, str] = os.environ) -> None:
    """Add the file's settings to `environ`; a name it already has keeps its value."""
    for name, value in read(path).items():
        environ.setdefault(name, value)


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


def export_lines(env_file: str | os.PathLike[str], environ: Mapping[str, str]) -> list[str]:
    """`export NAME='value'` for every setting of `env_file`, DEFAULTS and DERIVED; `environ` wins."""
    text = ""
    try:
        text = Path(env_file).read_text(encoding="utf8")
    except OSError:
        pass
    from_file: dict[str, str] = {}
    for number, name, value in parse_lines(text):
        if name is None:
            if value.strip() and not value.lstrip().startswith("#"):
                warn(f"{env_file}, line {number}: not NAME=value, ignored")
        elif name in ENVIRONMENT_ONLY:
            warn(f"{env_file}, line {number}: {name} is read from the environment only, ignored here")
        elif not _SHELL_NAME.match(name):
            warn(f"{env_file}, line {number}: {name} is not a shell variable name, ignored by deploy.sh")
        else:
            from_file[name] = value
    settings = Settings({**from_file, **environ})
    names = sorted(set(from_file) | set(DEFAULTS) | set(DERIVED))
    return [f"export {name}={shlex.quote(settings[name])}" for name in names]


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="the resolved settings as `export NAME='value'` lines")
    export.add_argument("--env-file", default=os.environ.get("ENV_FILE") or str(REPO_DIR / ".env"))
    value = sub.add_parser("read", help="the value NAME has in FILE alone (empty if it has none)")
    value.add_argument("file")
    value.add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "read":
        print(read(args.file).get(args.name, ""))
        return 0
    try:
        lines = export_lines(args.env_file, os.environ)
    except (KeyError, ValueError, IndexError) as exc:  # e.g. a port that is not a number
        print(f"error: {args.env_file}: a setting cannot be resolved ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
