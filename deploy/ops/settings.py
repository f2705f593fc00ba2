"""The CLI's settings: `.env` read by django-environ (as every process reads it), the process
environment winning over it, and every default and derived value from the one table
(`common.defaults`). `resolve()` returns them all, resolved; `apply()` puts them into this process's
environment, which supervisord and every service inherit.
"""

from __future__ import annotations

import os
import re
import resource
import secrets
import shlex
import stat
from pathlib import Path

import environ

from common.defaults import DEFAULTS, DERIVED, ENVIRONMENT_ONLY, Settings, kafka_cluster_bootstrap
from ops.console import Failure, step

REPO_DIR = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")


def _token(length: int) -> str:
    return secrets.token_urlsafe(length)


# Secrets `.env` gets on first use (NAME, a generator, a placeholder that counts as unset). Without a
# settings file (ENV_FILE=/dev/null: the benchmark, tests) the first ones live for one run instead.
SECRETS = (
    ("DJANGO_SECRET_KEY", lambda: _token(50), "change-me"),
    ("FLOWER_BASIC_AUTH", lambda: f"admin:{_token(18)}", ""),
    ("MAILDEV_WEB_USER", lambda: "admin", ""),
    ("MAILDEV_WEB_PASS", lambda: _token(18), ""),
    ("CRM_API_TOKEN", lambda: _token(32), ""),
    ("REDIS_PASSWORD", lambda: _token(24), ""),
    ("KAFKA_SASL_PASSWORD", lambda: _token(24), ""),
    ("KAFKA_UI_USER", lambda: "admin", ""),  # Compose's Kafka UI and Grafana
    ("KAFKA_UI_PASSWORD", lambda: _token(18), ""),
    ("GRAFANA_ADMIN_USER", lambda: "admin", ""),
    ("GRAFANA_ADMIN_PASSWORD", lambda: _token(18), ""),
)
RUN_ONLY_SECRETS = (
    "REDIS_PASSWORD",
    "FLOWER_BASIC_AUTH",
    "MAILDEV_WEB_USER",
    "MAILDEV_WEB_PASS",
    "CRM_API_TOKEN",
    "KAFKA_SASL_PASSWORD",
)
_MAKE = {name: make for name, make, _ in SECRETS}


def env_file(environ_: os._Environ | dict | None = None) -> Path:
    environ_ = os.environ if environ_ is None else environ_
    return Path(environ_.get("ENV_FILE") or REPO_DIR / ".env")


def read_file(path: Path) -> dict[str, str]:
    """The settings a file holds, as django-environ reads them, without touching os.environ."""

    class FileOnly(environ.Env):
        ENVIRON: dict[str, str] = {}

    if path.is_file():
        FileOnly.read_env(str(path))
    return dict(FileOnly.ENVIRON)


def _set_line(path: Path, name: str, value: str) -> None:
    """Give NAME the value in the file: its line rewritten, or a line added."""
    lines = path.read_text().splitlines()
    pattern = re.compile(rf"\A(export )?{re.escape(name)}=")
    for i, line in enumerate(lines):
        if pattern.match(line):
            lines[i] = f"{name}={value}"
            break
    else:
        lines.append(f"{name}={value}")
    path.write_text("\n".join(lines) + "\n")


def prepare_file(path: Path, default_file: bool) -> None:
    """The settings file: created from .env.example on first use, its owner's alone, its secrets generated."""
    if default_file and not path.exists():
        old = os.umask(0o077)
        try:
            path.write_text((REPO_DIR / ".env.example").read_text())
        finally:
            os.umask(old)
        step("created .env from .env.example")
    if not path.is_file() or not os.access(path, os.W_OK):
        return  # e.g. ENV_FILE=/dev/null: the environment says everything
    shown = path.name if path.parent == REPO_DIR else str(path)
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)
        step(f"{shown}: made readable by its owner only (it holds secrets)")
    generated = []
    current = read_file(path)
    for name, make, placeholder in SECRETS:
        if current.get(name, "") in ("", placeholder):
            _set_line(path, name, make())
            generated.append(name)
    if generated:
        step(f"generated into {shown}: {' '.join(generated)}")


def resolve(environ_: dict[str, str] | None = None, *, prepare: bool = True) -> dict[str, str]:
    """Every setting: the process environment, then the settings file, then the table (defaults and
    derived values); the run-only secrets generated when neither has them."""
    environ_ = dict(os.environ if environ_ is None else environ_)
    path = env_file(environ_)
    if prepare:
        prepare_file(path, default_file=not environ_.get("ENV_FILE"))
    from_file = {}
    for name, value in read_file(path).items():
        if name in ENVIRONMENT_ONLY:
            print(f"warning: {path}: {name} is read from the environment only, ignored there")
        elif _NAME.match(name):
            from_file[name] = value
    merged = {**from_file, **environ_}
    for name in RUN_ONLY_SECRETS:
        if not merged.get(name):
            merged[name] = _MAKE[name]()
    merged.pop("FLOWER_UNAUTHENTICATED_API", None)  # an old .env's; it opened Flower's API to every page
    view = Settings(merged)
    try:
        resolved = {name: view[name] for name in {*from_file, *DEFAULTS, *DERIVED}}
    except (KeyError, ValueError, IndexError) as exc:  # e.g. a port that is not a number
        raise Failure(f"{path}: a setting cannot be resolved ({type(exc).__name__}: {exc})") from exc
    resolved.setdefault("DJANGO_SETTINGS_MODULE", merged.get("DJANGO_SETTINGS_MODULE") or "config.settings.base")
    first = resolved["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0]
    resolved["KAFKA_HOST"], _, resolved["KAFKA_PORT"] = first.rpartition(":")
    if int(resolved["KAFKA_BROKERS"]) > 1 and "," not in resolved["KAFKA_BOOTSTRAP_SERVERS"]:
        # A local cluster: every client bootstraps from every node.
        resolved["KAFKA_BOOTSTRAP_SERVERS"] = kafka_cluster_bootstrap(resolved)
    # Each live viewer is a socket of the stream process: supervisord raises its children's limit to
    # this, within the hard limit (above it supervisord would refuse to start).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resolved["SUPERVISOR_MINFDS"] = str(16384 if hard == resource.RLIM_INFINITY else min(hard, 16384))
    return resolved


def apply(resolved: dict[str, str]) -> None:
    """Into this process's environment (supervisord and every service inherit it)."""
    os.environ.update(resolved)
    os.environ.pop("FLOWER_UNAUTHENTICATED_API", None)


def write_service_env(run_dir: Path, resolved: dict[str, str]) -> None:
    """The resolved settings for deploy/with-env.sh, which loads them at each app start: a
    restart-service after an edit of .env applies the edit."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "service.env"
    text = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(resolved.items()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
