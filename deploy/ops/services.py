"""The services of the local stack, their supervisord processes and their health checks.

A scalable service is declared in deploy/supervisord.conf as NAME-0 … NAME-<numprocs-1>;
RUN_DIR/scale/NAME says how many of them run (1 when absent), for `start` as much as for `scale`.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from ops.console import Failure

INFRA = ("kafka", "redis", "smtp", "prometheus")
APPS = ("crm", "api", "stream", "mailer", "workflow-agent", "relay", "bridge", "reconciler", "flower", "frontend")
SCALABLE = ("api", "stream", "mailer", "workflow-agent", "relay", "bridge")
ALL = INFRA + APPS
SUPERVISOR_CONF = Path(__file__).resolve().parent.parent / "supervisord.conf"


def known(name: str) -> str:
    """`name` if it is a service, else a Failure naming the services."""
    if name not in ALL:
        raise Failure(f"unknown service '{name}' (one of: {' '.join(ALL)})")
    return name


def group_of(name: str) -> str:
    return "infra" if name in INFRA else "app"


def declared_processes(name: str, conf: Path = SUPERVISOR_CONF) -> int:
    """numprocs of a scalable service in supervisord.conf."""
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.read(conf)
    return int(parser.get(f"program:{name}", "numprocs", fallback="1"))


def scale_of(run_dir: Path, name: str) -> int:
    """How many processes of `name` run (RUN_DIR/scale/NAME; 1 when absent or not a count)."""
    try:
        count = int((run_dir / "scale" / name).read_text().strip())
    except (OSError, ValueError):
        return 1
    return count if count >= 1 else 1


def processes_of(run_dir: Path, name: str, count: int | None = None) -> list[str]:
    """supervisord's names of a service's processes (`count`: of a scalable one, else its scale).
    Kafka's are its nodes: kafka, then kafka-1 … (RUN_DIR/scale/kafka, which `start` writes from
    KAFKA_BROKERS)."""
    if name == "kafka":
        return ["infra:kafka", *(f"infra:kafka-{n}" for n in range(1, scale_of(run_dir, name)))]
    if name in SCALABLE:
        return [f"app:{name}-{i}" for i in range(scale_of(run_dir, name) if count is None else count)]
    return [f"{group_of(name)}:{name}"]


def checks_of(run_dir: Path, names: tuple[str, ...] | list[str]) -> list[str]:
    """The health checks of services: NAME, or NAME:COUNT for a scalable one."""
    return [f"{name}:{scale_of(run_dir, name)}" if name in SCALABLE else name for name in names]


def check_scale(name: str, count: int) -> None:
    if name not in SCALABLE:
        raise Failure(f"'{name}' cannot be scaled (these can: {' '.join(SCALABLE)})")
    if count < 1:
        raise Failure(f"scale to 1 or more (./deploy.sh stop-service {name} stops it)")
