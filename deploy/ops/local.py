"""The verbs in local mode: every service a process under supervisord (deploy/supervisord.conf).

Programs do not autostart: `start` starts them in dependency order and waits on each group's health
checks (deploy/health.py), so that a step that fails says which service and why.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common.defaults import kafka_nodes
from ops import install, logs, monitoring, services
from ops.console import Failure, quiet, step
from ops.services import APPS, INFRA, SCALABLE, SUPERVISOR_CONF
from ops.settings import REPO_DIR, write_service_env
from ops.supervisor import Supervisor

HEALTH = REPO_DIR / "deploy" / "health.py"
PORTS = (
    ("api", "API_PORT"),
    ("stream", "STREAM_PORT"),
    ("kafka", "KAFKA_PORT"),
    ("kafka-controller", "KAFKA_CONTROLLER_PORT"),
    ("redis", "REDIS_PORT"),
    ("smtp", "SMTP_PORT"),
    ("smtp-web", "MAILDEV_WEB_PORT"),
    ("crm", "CRM_PORT"),
    ("flower", "FLOWER_PORT"),
    ("prometheus", "PROMETHEUS_PORT"),
    ("frontend", "FRONTEND_PORT"),
)


@dataclass
class Stack:
    """One local stack: its settings, run directory and supervisord."""

    settings: dict[str, str]
    run_dir: Path
    venv_bin: Path
    health_timeout: float = 90.0
    supervisor: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.run_dir, SUPERVISOR_CONF, self.venv_bin)

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    # --- health ------------------------------------------------------------------------------

    def health(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.venv_bin / "python", HEALTH, *args], capture_output=True, text=True)

    def wait_healthy(self, checks: list[str]) -> None:
        """Until every health check passes, or the health time-out ends; then the failing services' logs."""
        result = subprocess.run([self.venv_bin / "python", HEALTH, "--wait", str(int(self.health_timeout)), *checks])
        if result.returncode == 0:
            return
        for check in checks:
            if self.health(check).returncode != 0:
                for path in logs.log_files(self.log_dir, check.split(":")[0]):
                    print("\n".join(path.read_text(errors="replace").splitlines()[-20:]))
        raise Failure(f"not healthy within {int(self.health_timeout)}s (./deploy.sh logs NAME)")

    # --- the verbs ---------------------------------------------------------------------------

    def _ports(self) -> list[tuple[str, int, str]]:
        """(service, port, the setting it comes from) of every port `start` binds: PORTS, and the
        client and controller ports of a local cluster's other nodes."""
        ports = [(name, int(self.settings[var]), var) for name, var in PORTS]
        for n, (_, broker, controller) in enumerate(kafka_nodes(self.settings)):
            if n:
                ports += [
                    (f"kafka-{n}", broker, f"node {n} of KAFKA_BROKERS"),
                    (f"kafka-{n}", controller, f"node {n} of KAFKA_BROKERS"),
                ]
        return ports

    def check_ports(self) -> None:
        taken = []
        for name, port, var in self._ports():
            with socket.socket() as probe:
                probe.settimeout(1)
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    taken.append(f"port {port} ({name}, {var}) is already in use")
        if taken:
            raise Failure("free those ports or change them in .env; nothing was started", details=taken)

    @property
    def mode_file(self) -> Path:
        return self.run_dir / "mode"

    def dev_mode(self) -> bool:
        """Whether the running stack was started by `dev` (restart-service and scale keep its mode)."""
        try:
            return self.mode_file.read_text().strip() == "dev"
        except OSError:
            return False

    def _service_env(self, dev: bool) -> None:
        write_service_env(self.run_dir, {**self.settings, "DEV_RELOAD": "1" if dev else "0"})

    def start(self, dev: bool = False) -> None:
        if self.supervisor.running():
            print("already running (./deploy.sh status shows it; ./deploy.sh restart restarts it)")
            if dev != self.dev_mode():
                print(f"note: it runs as `{'dev' if self.dev_mode() else 'start'}` started it (./deploy.sh stop first)")
            return
        stale = self.supervisor.stale_pid()
        if stale is not None:
            step(f"ignoring a stale {_shown(self.supervisor.pid_file)} (pid {stale} is not this stack's supervisord)")
            self.supervisor.pid_file.unlink()
        install.check_tools()
        self.check_ports()
        install.install_all(build=not dev)
        # Logs, the database and Kafka's log hold personal data: this user's alone (also those of an
        # older start, made before this umask; their folders closed is enough).
        os.umask(0o077)
        kafka_data = Path(self.settings["KAFKA_DATA_DIR"])
        for folder in (self.log_dir, REPO_DIR / "data", kafka_data):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        self.run_dir.chmod(0o700)
        for log in self.log_dir.glob("*.log"):
            log.chmod(0o600)
        self._service_env(dev)
        self.mode_file.write_text("dev\n" if dev else "start\n")
        step("starting supervisord")
        self.supervisor.launch()
        monitoring.write_config(self.run_dir, self.settings)
        brokers = int(self.settings["KAFKA_BROKERS"])
        (self.run_dir / "scale").mkdir(exist_ok=True)
        (self.run_dir / "scale" / "kafka").write_text(f"{brokers}\n")
        kafka = f"kafka ({brokers} nodes, " if brokers > 1 else "kafka ("
        step(f"starting {kafka}log in {_shown(kafka_data)}), redis, smtp, prometheus")
        self.supervisor.start(p for name in INFRA for p in services.processes_of(self.run_dir, name))
        self.wait_healthy(["kafka-broker", "redis", "smtp", "prometheus"])
        step("applying migrations")
        manage = [self.venv_bin / "python", REPO_DIR / "manage.py"]
        quiet("migrate", [*manage, "migrate", "--noinput"], cwd=REPO_DIR)
        quiet(
            "migrate (the mock CRM's database)",
            [*manage, "migrate", "--noinput", "--settings", "config.settings.crm_server"],
            cwd=REPO_DIR,
        )
        topic, partitions = self.settings["KAFKA_TOPIC"], self.settings["KAFKA_NUM_PARTITIONS"]
        step(f"creating Kafka topic {topic} ({partitions} partitions) if missing")
        quiet("topic creation", [*manage, "kafka_topics"], cwd=REPO_DIR)
        self.wait_healthy(["kafka"])
        described, processes = [], []
        for name in APPS:
            processes += services.processes_of(self.run_dir, name)
            count = services.scale_of(self.run_dir, name)
            described.append(f"{name} ({count} processes)" if name in SCALABLE and count > 1 else name)
        step(f"starting {' '.join(described)}")
        self.supervisor.start(processes)
        self.wait_healthy(services.checks_of(self.run_dir, APPS))
        step("all services healthy")
        if dev:
            step(
                "development mode: Python services restart when a .py file under backend/ or bridge/ changes; "
                "the frontend is Vite's dev server (hot module replacement)"
            )
        print_urls(self.settings)

    def stop(self) -> None:
        if not self.supervisor.running():
            print("not running")
            return
        step("stopping every service")
        self.supervisor.shutdown()
        step("stopped")

    def restart(self) -> None:
        """Stop, then start again as it was started (start or dev)."""
        dev = self.dev_mode()
        self.stop()
        self.start(dev=dev)

    def build(self) -> None:
        """Install everything start needs and build the frontend, starting nothing."""
        install.check_tools()
        install.install_all(build=True)
        step("built")

    def status(self) -> int:
        if not self.supervisor.running():
            print("not running")
            return 3
        states = self.supervisor.states()
        checks = services.checks_of(self.run_dir, INFRA + APPS)
        results = {}
        for line in self.health(*checks).stdout.splitlines():
            name, _, result = line.partition(" ")
            results[name] = result
        code = 0
        print(f"{'SERVICE':<15} {'PROCESS':<10} HEALTH")
        for name in INFRA + APPS:
            state = _process_column([states.get(p, "UNKNOWN") for p in services.processes_of(self.run_dir, name)])
            result = results.get(name, "down (no answer from deploy/health.py)")
            # A stopped process's heartbeat can outlive it for a few seconds: both must say so.
            if not (result.startswith("ok") and state.split("(")[0] == "RUNNING" and "/" not in state):
                code = 1
            print(f"{name:<15} {state:<10} {result}")
        print()
        lag = self.health("--lag")
        sys.stdout.write(lag.stdout)
        sys.stderr.write(lag.stderr)
        return code or (1 if lag.returncode else 0)

    def _running_or_fail(self, verb: str, name: str | None) -> str:
        if not name:
            raise Failure(f"usage: ./deploy.sh {verb} NAME")
        services.known(name)
        if not self.supervisor.running():
            raise Failure("not running (./deploy.sh start)")
        return name

    def restart_service(self, name: str | None) -> None:
        name = self._running_or_fail("restart-service", name)
        self._service_env(self.dev_mode())
        processes = services.processes_of(self.run_dir, name)
        checks = services.checks_of(self.run_dir, [name])
        if name in SCALABLE and len(processes) > 1:
            # One at a time, each healthy again before the next goes: the others go on working
            # meanwhile (the API's and the stream's keep their shared port answering).
            step(f"restarting {name} ({len(processes)} processes, one at a time)")
            batches = [[process] for process in processes]
        else:
            # Kafka's nodes go together: a node back is not yet in sync, and restarting the next then
            # would leave partitions short of min.insync.replicas.
            step(f"restarting {name}" + (f" ({len(processes)} nodes)" if len(processes) > 1 else ""))
            batches = [processes]
        for batch in batches:
            self.supervisor.stop(batch)
            self.supervisor.start(batch)
            self.wait_healthy(checks)
        step(f"{name} healthy")

    def stop_service(self, name: str | None) -> None:
        name = self._running_or_fail("stop-service", name)
        if name in SCALABLE:
            processes = services.processes_of(self.run_dir, name, services.declared_processes(name))
        else:
            processes = [f"{services.group_of(name)}:{name}"]
        step(f"stopping {name}")
        self.supervisor.stop(processes)

    def scale(self, name: str, count: int) -> None:
        """Start or stop processes until `count` of `name` run; remembered for the next start."""
        services.check_scale(name, count)
        most = services.declared_processes(name)
        if count > most:
            raise Failure(
                f"{name} runs at most {most} processes here (numprocs of [program:{name}] in deploy/supervisord.conf)"
            )
        (self.run_dir / "scale").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "scale" / name).write_text(f"{count}\n")
        monitoring.write_targets(self.run_dir, self.settings)  # Prometheus scrapes what will run
        if not self.supervisor.running():
            step(f"{name}: {count} process(es) from the next start")
            return
        states = self.supervisor.states()
        # New processes start with the settings the running ones were started with (service.env, as
        # written by start or restart-service), so that every process of a service runs alike.
        start, stop = [], []
        for i in range(most):
            process = f"app:{name}-{i}"
            state = states.get(process, "STOPPED")
            if i < count and state not in ("RUNNING", "STARTING"):
                start.append(process)
            elif i >= count and state in ("RUNNING", "STARTING", "BACKOFF"):
                stop.append(process)
        if stop:
            step(f"stopping {len(stop)} {name} process(es)")
            self.supervisor.stop(stop)
        if start:
            step(f"starting {len(start)} {name} process(es)")
            self.supervisor.start(start)
        self.wait_healthy([f"{name}:{count}"])
        step(f"{name}: {count} process(es) running")

    def cleanup(self) -> None:
        self.stop()
        kafka_data = Path(self.settings["KAFKA_DATA_DIR"])
        step(f"removing run state, logs, the SQLite database, Kafka's log ({kafka_data}) and build output")
        for path in (
            self.run_dir,
            REPO_DIR / "data",
            kafka_data,
            REPO_DIR / "staticfiles",
            REPO_DIR / "frontend" / "dist",
        ):
            shutil.rmtree(path, ignore_errors=True)

    def kafka(self, args: list[str]) -> int:
        """A Kafka tool from the broker's jars, against KAFKA_BOOTSTRAP_SERVERS."""
        if not args:
            tools = subprocess.run([sys.executable, install.KAFKA_RUNNER, "tools"], capture_output=True, text=True)
            print("\n".join(f"  {line}" for line in tools.stdout.splitlines()))
            raise Failure("usage: ./deploy.sh kafka TOOL [ARGS...] (tools above)")
        install.ensure_kafka()
        return subprocess.run([sys.executable, install.KAFKA_RUNNER, "tool", *args]).returncode


def _process_column(states: list[str]) -> str:
    """supervisord's state of a service; of a scaled one, with its count (RUNNING(2), RUNNING(1/2))."""
    if len(states) == 1:
        return states[0]
    if len(set(states)) == 1:
        return f"{states[0]}({len(states)})"
    return f"RUNNING({states.count('RUNNING')}/{len(states)})"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_DIR))
    except ValueError:
        return str(path)


def print_urls(s: dict[str, str]) -> None:
    print(
        f"""
  Frontend          http://localhost:{s["FRONTEND_PORT"]}
  API               http://localhost:{s["API_PORT"]}/api/submissions/
  API docs          http://localhost:{s["API_PORT"]}/api/docs/  (schema: /api/schema/)
  Live progress     {s["STREAM_PUBLIC_URL"]}/api/submissions/<id>/events  (server-sent events)
  Admin             http://localhost:{s["API_PORT"]}/admin/  (create a user: .venv/bin/python manage.py createsuperuser)
  Event console     http://localhost:{s["API_PORT"]}/admin/console/  (staff: Kafka topics, lag, records, dead letters)
  Metrics           http://localhost:{s["API_PORT"]}/metrics; relay, bridge, workers, reconciler on 127.0.0.1:{s["METRICS_PORT_RELAY"]}-{s["METRICS_PORT_RECONCILER"]}
  Prometheus        http://localhost:{s["PROMETHEUS_PORT"]}  (alerts: /alerts; rules in deploy/prometheus/alerts.yml)
  Flower            http://localhost:{s["FLOWER_PORT"]}  (user and password: FLOWER_BASIC_AUTH in {os.environ.get("ENV_FILE") or ".env"})
  SMTP catcher UI   http://localhost:{s["MAILDEV_WEB_PORT"]}  (MAILDEV_WEB_USER / MAILDEV_WEB_PASS; SMTP on port {s["SMTP_PORT"]})
  Mock CRM          http://localhost:{s["CRM_PORT"]}/crm/api/leads/  (Authorization: Bearer $CRM_API_TOKEN)
  Kafka             {s["KAFKA_BOOTSTRAP_SERVERS"]}  (topic {s["KAFKA_TOPIC"]})"""
    )
