"""The verbs where a Docker engine answers: Docker Compose (docker-compose.yml) does the work."""

from __future__ import annotations

import os
import shutil
import subprocess

from ops import logs
from ops.console import Failure, step
from ops.services import check_scale


def available() -> bool:
    """DEPLOY_MODE=compose|local forces a mode; else Compose when a Docker engine answers."""
    mode = os.environ.get("DEPLOY_MODE", "auto")
    if mode in ("compose", "local"):
        return mode == "compose"
    return (
        shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )


def prefix() -> list[str]:
    """`docker compose` with the settings file, and the cluster's file where KAFKA_BROKERS > 1."""
    files = ["-f", "docker-compose.yml"]
    if int(os.environ.get("KAFKA_BROKERS") or 1) > 1:
        files += ["-f", "docker-compose.cluster.yml"]  # three brokers (docs/beyond-one-machine.md)
    return ["docker", "compose", *files, "--env-file", os.environ.get("ENV_FILE") or ".env"]


def _run(*args: str) -> int:
    return subprocess.run([*prefix(), *args]).returncode


def run(verb: str, args: list[str], settings: dict[str, str], log_options: logs.LogOptions | None = None) -> int:
    if verb == "start":
        step("starting the stack with Docker Compose")
        code = _run("up", "-d", "--build", "--wait")
        if code == 0:
            print_urls(settings)
        return code
    if verb in ("restart-service", "stop-service"):
        if not args:
            raise Failure(f"usage: ./deploy.sh {verb} NAME")
        return _run("restart" if verb == "restart-service" else "stop", args[0])
    if verb == "scale":
        name, count = args[0], int(args[1])
        check_scale(name, count)
        step(f"scaling {name} to {count} container(s)")
        return _run("up", "-d", "--no-deps", "--no-recreate", "--wait", "--scale", f"{name}={count}", name)
    if verb == "logs":
        return logs.compose_logs(prefix(), log_options or logs.LogOptions())
    if verb == "kafka":
        if not args:
            raise Failure("usage: ./deploy.sh kafka TOOL [ARGS...]")
        tool = args[0].removeprefix("kafka-").removesuffix(".sh")
        return _run(
            "exec", "kafka", f"/opt/kafka/bin/kafka-{tool}.sh", "--bootstrap-server", "localhost:29092", *args[1:]
        )
    simple = {
        "stop": ("stop",),
        "restart": ("restart",),
        "status": ("ps",),
        "build": ("build",),
        "cleanup": ("down", "--volumes", "--remove-orphans"),
    }
    return _run(*simple[verb])


def print_urls(s: dict[str, str]) -> None:
    env_file = os.environ.get("ENV_FILE") or ".env"
    print(
        f"""
  Frontend          {s["PUBLIC_URL"]}  (published on {s["PUBLIC_BIND_ADDRESS"]}:{s["FRONTEND_PORT"]})
  API, through it   {s["PUBLIC_URL"]}/api/submissions/  (docs: /api/docs/, admin: /admin/)
  Flower            http://127.0.0.1:{s["FLOWER_PORT"]}  (user and password: FLOWER_BASIC_AUTH in {env_file})
  SMTP catcher UI   http://127.0.0.1:{s["MAILDEV_WEB_PORT"]}  (MAILDEV_WEB_USER / MAILDEV_WEB_PASS)
  Kafka UI          http://127.0.0.1:{s["KAFKA_UI_PORT"]}  (read-only; KAFKA_UI_USER / KAFKA_UI_PASSWORD)
  Grafana           http://127.0.0.1:{s["GRAFANA_PORT"]}  (dashboard "Intake pipeline"; GRAFANA_ADMIN_USER / GRAFANA_ADMIN_PASSWORD)
  Prometheus        http://127.0.0.1:{s["PROMETHEUS_PORT"]}
  Event console     {s["PUBLIC_URL"]}/admin/console/  (staff)
  Kafka, Redis, PostgreSQL, the CRM: inside the Compose network only (./deploy.sh kafka TOOL ...)"""
    )
