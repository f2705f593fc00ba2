"""The local Prometheus (Debian's `prometheus`, on loopback): the configuration `start` and `scale`
write into RUN_DIR/prometheus, so that it scrapes every process of this stack, each scaled replica
included, and evaluates the same alert rules as Compose's (deploy/prometheus/alerts.yml).

Targets live in one file per job (file_sd), which Prometheus re-reads by itself: `scale` rewrites them
and no restart is needed. A scaled replica N of a worker, the relay or the bridge serves its metrics on
its service's port + 100 × N (METRICS_REPLICA, backend/config/settings/observability.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from ops import services

RULES = Path(__file__).resolve().parents[1] / "prometheus" / "alerts.yml"
REPLICA_STRIDE = 100
JOBS = {  # job → the setting naming its metrics port (the API: its own port, /metrics)
    "api": "API_PORT",
    "relay": "METRICS_PORT_RELAY",
    "bridge": "METRICS_PORT_BRIDGE",
    "mailer": "METRICS_PORT_MAILER",
    "workflow-agent": "METRICS_PORT_WORKFLOW_AGENT",
    "reconciler": "METRICS_PORT_RECONCILER",
}


def _seconds(interval: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if interval.endswith(unit) and interval[: -len(unit)].isdigit():
            return int(interval[: -len(unit)]) * units[unit]
    raise ValueError(f"PROMETHEUS_SCRAPE_INTERVAL: {interval!r} is not a duration such as 15s or 1m")


def targets(run_dir: Path, settings: dict[str, str]) -> dict[str, list[str]]:
    """job → its host:port targets (a job whose port is 0, metrics off, has none)."""
    found = {}
    for job, setting in JOBS.items():
        port = int(settings[setting])
        # The API's replicas share its port, and each one's /metrics adds up all (config/gunicorn.py).
        count = services.scale_of(run_dir, job) if job in services.SCALABLE and job != "api" else 1
        found[job] = [f"127.0.0.1:{port + REPLICA_STRIDE * n}" for n in range(count)] if port else []
    return found


def write_targets(run_dir: Path, settings: dict[str, str]) -> None:
    folder = run_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    for job, hosts in targets(run_dir, settings).items():
        path = folder / f"targets-{job}.json"
        new = folder / f".targets-{job}.json"
        new.write_text(json.dumps([{"targets": hosts, "labels": {}}] if hosts else []))
        new.replace(path)  # whole, never half-written, when Prometheus re-reads it


def write_config(run_dir: Path, settings: dict[str, str]) -> Path:
    """RUN_DIR/prometheus/prometheus.yml (JSON, which YAML reads) and its target files."""
    interval = settings["PROMETHEUS_SCRAPE_INTERVAL"]
    timeout = f"{min(_seconds(interval), 10.0):g}s"
    write_targets(run_dir, settings)
    folder = run_dir / "prometheus"
    scrape = [
        {
            "job_name": job,
            "file_sd_configs": [{"files": [str(folder / f"targets-{job}.json")], "refresh_interval": interval}],
        }
        for job in JOBS
    ]
    scrape.append(
        {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{settings['PROMETHEUS_PORT']}"]}]}
    )
    config = {
        "global": {"scrape_interval": interval, "scrape_timeout": timeout, "evaluation_interval": interval},
        "rule_files": [str(RULES)],
        "scrape_configs": scrape,
    }
    path = folder / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path
