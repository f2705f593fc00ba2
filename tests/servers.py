"""Real servers for tests and benchmarks: each on a free loopback port, waited on, and stopped.

`Stack` starts the whole pipeline as local processes: Apache Kafka (one KRaft node, its log in the
stack's temporary directory), Redis, the SMTP catcher, the mock CRM, the API, the live stream, the two
Celery workers, the relay and the bridge.
"""

import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import redis
import requests

from common.kafka import KafkaAuth, client_config

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MAILDEV = REPO / "deploy" / "smtp" / "catcher.mjs"  # maildev, closed to other origins
KAFKA_RUNNER = REPO / "deploy" / "kafka" / "broker.py"
GUNICORN_CONFIG = REPO / "backend" / "config" / "gunicorn.py"
# The /metrics port of each process without an HTTP server (Stack.ports name: its setting).
METRICS_PORTS = {
    "metrics_relay": "METRICS_PORT_RELAY",
    "metrics_bridge": "METRICS_PORT_BRIDGE",
    "metrics_mailer": "METRICS_PORT_MAILER",
    "metrics_workflow_agent": "METRICS_PORT_WORKFLOW_AGENT",
    "metrics_reconciler": "METRICS_PORT_RECONCILER",
}
# The ports of a stack that ./deploy.sh starts (tests give each a free one; Kafka's come with its address).
PORT_VARS = (
    "API_PORT",
    "STREAM_PORT",
    "REDIS_PORT",
    "SMTP_PORT",
    "MAILDEV_WEB_PORT",
    "CRM_PORT",
    "FLOWER_PORT",
    "FRONTEND_PORT",
    "PROMETHEUS_PORT",
)
# Tests share a 2-core machine with the whole stack: the test broker gets a smaller heap.
TEST_KAFKA_HEAP = "-Xmx384m -Xms64m"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; return that, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # a server that is still starting refuses connections
            last_error = exc
        time.sleep(interval)  # the polling interval of a condition wait, not a fixed delay
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def hold_until(moment: float) -> None:
    """Let time pass until `moment` (time.monotonic()): only for what a test defines as time itself,
    a fault's schedule or outage length and the pace of a load, never for a condition (wait_until)."""
    time.sleep(max(0.0, moment - time.monotonic()))


# Each submission's access token, noted by whoever created it (the 201 body carries it once).
ACCESS_TOKENS: dict[str, str] = {}


def remember_token(created: dict) -> dict:
    """Note the access token of a 201 body; returns the body."""
    ACCESS_TOKENS[created["id"]] = created["access_token"]
    return created


def visitor_headers(submission_id: str) -> dict[str, str]:
    """What the visitor who sent `submission_id` sends to read it."""
    return {"Authorization": f"Bearer {ACCESS_TOKENS[submission_id]}"}


def read_submission(stack: "Stack", submission_id: str, timeout: float = 5) -> dict:
    """A submission's state, read as its visitor reads it (with the access token)."""
    url = f"{stack.api}/api/submissions/{submission_id}/"
    response = requests.get(url, headers=visitor_headers(submission_id), timeout=timeout)
    response.raise_for_status()
    return response.json()


def stream_url(stack: "Stack", submission_id: str) -> str:
    """The live stream of a submission, as the browser opens it (the token in the query)."""
    return f"{stack.stream}/api/submissions/{submission_id}/events?access_token={ACCESS_TOKENS[submission_id]}"


def http_ok(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_block(size: int) -> int:
    """The first of `size` consecutive loopback ports that are all free (a local cluster's node N
    takes the first port + 2N, its controller the next one)."""
    for _ in range(200):
        first = free_port()
        if first + size >= 65535:
            continue
        sockets = []
        try:
            for port in range(first, first + size):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports")


def own_deploy_env(tmp: Path, *, kafka_port: int, controller_port: int, **settings: str) -> dict[str, str]:
    """The environment of a `./deploy.sh` of its own, as a second stack on this machine needs: free
    ports (the metrics ones too, so that a stack left running elsewhere never answers this one's
    Prometheus), its settings file, run directory and data under `tmp`, none of the pipeline's
    settings from the caller's environment; then `settings`."""
    (tmp / "settings.env").write_text("# this stack's settings file (ENV_FILE)\n")
    ports = {name: free_port() for name in PORT_VARS}
    pipeline_settings = ("DJANGO_", "CELERY_", "KAFKA_", "CRM_", "METRICS_")
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith(pipeline_settings)},
        **{name: str(port) for name, port in ports.items()},
        **{variable: str(free_port()) for variable in METRICS_PORTS.values()},
        "ENV_FILE": str(tmp / "settings.env"),
        "DEPLOY_MODE": "local",
        "RUN_DIR": str(tmp / "run"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "CRM_DATABASE_URL": f"sqlite:///{tmp / 'crm.sqlite3'}",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_DATA_DIR": str(tmp / "kafka"),
        "KAFKA_HEAP_OPTS": TEST_KAFKA_HEAP,
        "API_PUBLIC_URL": f"http://127.0.0.1:{ports['API_PORT']}",
        "API_WORKERS": "1",
        **settings,
    }


def completion_times(database_url: str, submission_ids: set[str]) -> dict[str, float]:
    """When the workflow of each of `submission_ids` finished (its saga run's finished_at, Unix
    seconds), read from the pipeline's database (SQLite or PostgreSQL); keyed by submission id."""
    wanted = {submission_id.replace("-", ""): submission_id for submission_id in submission_ids}
    query = "SELECT submission_id, finished_at FROM workflow_sagarun WHERE finished_at IS NOT NULL"
    if database_url.startswith("sqlite:"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            rows = [(sid, datetime.fromisoformat(at).replace(tzinfo=UTC)) for sid, at in db.execute(query)]
    else:
        import psycopg

        with psycopg.connect(database_url) as db:
            rows = db.execute(query).fetchall()
    found = ((str(sid).replace("-", ""), at.timestamp()) for sid, at in rows)
    return {wanted[sid]: at for sid, at in found if sid in wanted}


def install_kafka() -> None:
    """Resolve the broker's jars from Maven Central unless they are there (deploy/kafka/broker.py)."""
    subprocess.run([sys.executable, str(KAFKA_RUNNER), "install"], check=True, capture_output=True)


@dataclass(frozen=True)
class KafkaAccess:
    """Where a test's broker is and how to sign in to it, for either client library."""

    bootstrap: str
    auth: KafkaAuth

    def confluent(self, **extra) -> dict:
        return client_config(self.bootstrap, self.auth, **extra)

    def kafka_python(self, **extra) -> dict:
        return {"bootstrap_servers": self.bootstrap, **self.auth.kafka_python(), **extra}


def kafka_ready(kafka: KafkaAccess) -> bool:
    """A metadata request answered with this broker in it (a fenced broker is left out)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(kafka.confluent(log_level=0))
    return bool(admin.list_topics(timeout=1).brokers)


class Processes:
    """Started processes with their logs, stopped in reverse order."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.lock = threading.RLock()  # the supervisor thread and the faults never race on the list
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.orphan_groups: list[int] = []

    def start(
        self, name: str, cmd: list[str], env: dict[str, str], cwd: Path = REPO, stdin: str | None = None
    ) -> subprocess.Popen:
        """Start `cmd`, its output in NAME.log; `stdin`: text written to its standard input, then closed."""
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE if stdin is not None else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if stdin is not None:
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        with self.lock:
            self.procs.append((name, proc))
        return proc

    def stop(self, name: str) -> None:
        with self.lock:
            for proc_name, proc in self.procs:
                if proc_name == name:
                    _terminate(proc)
            self.procs = [(n, p) for n, p in self.procs if n != name]

    def kill(self, name: str, *, group: bool = True) -> None:
        """SIGKILL `name` (its whole process group, or only its main process), as a crash would."""
        with self.lock:
            for proc_name, proc in self.procs:
                if proc_name == name and proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
                    proc.wait(timeout=10)
                    if not group:
                        self.orphan_groups.append(proc.pid)  # children left behind are cleaned up at the end
            self.procs = [(n, p) for n, p in self.procs if n != name]

    def signal(self, name: str, sig: int) -> None:
        """Send `sig` to the process group of `name` (SIGSTOP freezes it as a hung server; SIGCONT thaws)."""
        with self.lock:
            for proc_name, proc in self.procs:
                if proc_name == name and proc.poll() is None:
                    os.killpg(proc.pid, sig)

    def take_exited(self, names: set[str]) -> list[str]:
        """Forget the processes among `names` that exited by themselves, and return their names."""
        with self.lock:
            gone = [n for n, p in self.procs if n in names and p.poll() is not None]
            self.procs = [(n, p) for n, p in self.procs if n not in gone]
        return gone

    def stop_all(self) -> None:
        with self.lock:
            procs = list(self.procs)
        for _, proc in reversed(procs):
            _terminate(proc)
        self.procs.clear()
        for pgid in self.orphan_groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.orphan_groups.clear()

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


class Stack:
    """The whole pipeline on free loopback ports, in a temporary directory."""

    def __init__(self, *, extra_env: dict[str, str] | None = None, worker_concurrency: int = 8):
        self.tmp = Path(tempfile.mkdtemp(prefix="intake-stack-"))
        self.procs = Processes(self.tmp)
        self.ports = {
            name: free_port()
            for name in (
                "kafka",
                "kafka_controller",
                "redis",
                "smtp",
                "maildev_web",
                "crm",
                "api",
                "stream",
                "frontend",
                *METRICS_PORTS,
            )
        }
        self.topic = "events.contact_form"
        redis_password = secrets.token_urlsafe(16)
        kafka_password = secrets.token_urlsafe(16)
        self.env = {
            **os.environ,
            "ENV_FILE": "/dev/null",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_SECRET_KEY": "integration-tests",
            # TEST_DATABASE_URL runs the stack on another database (e.g. an empty PostgreSQL one).
            "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{self.tmp / 'db.sqlite3'}",
            "CRM_DATABASE_URL": f"sqlite:///{self.tmp / 'crm.sqlite3'}",
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.ports['kafka']}",
            "KAFKA_TOPIC": self.topic,
            "KAFKA_NUM_PARTITIONS": "3",
            "KAFKA_CONTROLLER_PORT": str(self.ports["kafka_controller"]),
            "KAFKA_DATA_DIR": str(self.tmp / "kafka"),
            "KAFKA_HEAP_OPTS": TEST_KAFKA_HEAP,
            "KAFKA_GROUP_INSTANCE_ID": f"bridge-{self.tmp.name}",
            # Kafka asks for a sign-in, as in local mode (SASL/PLAIN, deploy/kafka/broker.py).
            "KAFKA_SASL_PASSWORD": kafka_password,
            # Redis asks for its password, as in local mode (deploy/supervisord.conf).
            "REDIS_PASSWORD": redis_password,
            "CELERY_BROKER_URL": f"redis://:{redis_password}@127.0.0.1:{self.ports['redis']}/0",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.ports["smtp"]),
            "CRM_API_BASE": f"http://127.0.0.1:{self.ports['crm']}/crm/api",
            "CRM_API_TIMEOUT": "5",
            "TASK_MAX_RETRIES": "1",
            # The reconciler and the mail retries on a test's time scale (production: 5 s, 60 s, 60 s);
            # the mail lease is production's (10 s, renewed while a send runs).
            "RECONCILE_INTERVAL": "1",
            "RECONCILE_STALL_SECONDS": "15",
            "MAIL_RETRY_BACKOFF_MAX": "4",
            "TASK_RETRY_BACKOFF_MAX": "1",
            "SUBMISSION_RATE_LIMIT": "10000/minute",
            # Tests hold hundreds of live streams from one address, and use the demo's failure control.
            "STREAM_MAX_PER_CLIENT": "100000",
            "CONFIRMATIONS_PER_RECIPIENT": "100000",  # many tests write to one address; unit tests cover the limit
            "DEMO_CONTROLS": "true",
            "CRM_API_TOKEN": "integration-tests-crm-token",
            "API_PORT": str(self.ports["api"]),
            "API_PUBLIC_URL": f"http://127.0.0.1:{self.ports['api']}",
            "STREAM_PORT": str(self.ports["stream"]),
            "STREAM_PUBLIC_URL": f"http://127.0.0.1:{self.ports['stream']}",
            "CORS_ORIGINS": f"http://127.0.0.1:{self.ports['frontend']},http://localhost:{self.ports['frontend']}",
            **{variable: str(self.ports[name]) for name, variable in METRICS_PORTS.items()},
            **(extra_env or {}),
        }
        self.worker_concurrency = worker_concurrency
        self.kafka_start_seconds: list[float] = []

    # URLs
    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def stream(self) -> str:
        return f"http://127.0.0.1:{self.ports['stream']}"

    @property
    def crm(self) -> str:
        return f"http://127.0.0.1:{self.ports['crm']}/crm/api"

    @property
    def maildev(self) -> str:
        return f"http://127.0.0.1:{self.ports['maildev_web']}"

    @property
    def bootstrap(self) -> str:
        return self.env["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def kafka(self) -> KafkaAccess:
        return KafkaAccess(self.bootstrap, KafkaAuth.from_mapping(self.env))

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.env["CELERY_BROKER_URL"])

    def manage(self, *args: str) -> None:
        subprocess.run(
            [str(BIN / "python"), "manage.py", *args], env=self.env, cwd=REPO, check=True, capture_output=True
        )

    def start_kafka(self) -> float:
        """Start the broker on its data directory (formatted on first use); return seconds to ready."""
        install_kafka()
        started = time.monotonic()
        self.procs.start(
            "kafka", [sys.executable, str(KAFKA_RUNNER), "run", "--data-dir", self.env["KAFKA_DATA_DIR"]], self.env
        )
        wait_until(lambda: kafka_ready(self.kafka), timeout=60, what="the Kafka broker")
        self.kafka_start_seconds.append(time.monotonic() - started)
        return self.kafka_start_seconds[-1]

    def start_redis(self) -> None:
        """Redis as local mode runs it: its password from its standard input, its append-only file in the
        stack's directory (fsync each second)."""
        (self.tmp / "redis").mkdir(exist_ok=True)
        cmd = ["redis-server", "-", "--port", str(self.ports["redis"]), "--bind", "127.0.0.1", "--save", ""]
        self.procs.start(
            "redis",
            [*cmd, "--appendonly", "yes", "--dir", str(self.tmp / "redis")],
            self.env,
            stdin=f"requirepass {self.env['REDIS_PASSWORD']}\n",
        )
        wait_until(lambda: self.redis().ping(), what="redis")

    def start_smtp(self) -> None:
        """maildev, keeping its mail on disk so that a restart of the catcher forgets nothing."""
        cmd = ["node", str(MAILDEV), "--smtp", str(self.ports["smtp"]), "--ip", "127.0.0.1"]
        cmd += ["--web", str(self.ports["maildev_web"]), "--web-ip", "127.0.0.1"]
        self.procs.start("smtp", [*cmd, "--mail-directory", str(self.tmp / "mail")], self.env)
        wait_until(lambda: http_ok(f"{self.maildev}/api/email"), what="maildev")

    def start_infra(self) -> None:
        self.start_kafka()
        self.start_redis()
        self.start_smtp()
        self.manage("migrate", "--noinput")
        self.manage("migrate", "--noinput", "--settings", "config.settings.crm_server")
        self.manage("kafka_topics")

    def _gunicorn(self, name: str, port: int, env: dict[str, str], *options: str) -> None:
        cmd = [str(BIN / "gunicorn"), *options, "--chdir", "backend", "--threads", "8", "--timeout", "60"]
        cmd += ["--no-control-socket", "--reuse-port"]  # a new master can bind while a killed one's workers drain
        self.procs.start(name, [*cmd, "-b", f"127.0.0.1:{port}", "config.wsgi"], env)

    def start_crm(self, **extra_env: str) -> None:
        self._gunicorn(
            "crm", self.ports["crm"], {**self.env, "DJANGO_SETTINGS_MODULE": "config.settings.crm_server", **extra_env}
        )
        wait_until(lambda: http_ok(f"{self.crm.rsplit('/api', 1)[0]}/health"), what="crm")

    def start_api(self, name: str = "api", port: int | None = None, workers: int = 1) -> str:
        """The API as deploy/supervisord.conf runs it (its gunicorn settings: metrics of every worker added
        up in the stack's directory, JSON access lines); returns its URL. Another `name` and `port` start
        a second one beside it."""
        port = port or self.ports["api"]
        env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / f"metrics-{name}")}
        self._gunicorn(
            name, port, env, "--config", str(GUNICORN_CONFIG), "--workers", str(workers), "--access-logfile", "-"
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(f"{url}/health"), what=name)
        return url

    def start_stream(self) -> None:
        """The live stream as deploy/supervisord.conf runs it: uvicorn (config/stream_server.py), its own
        settings module."""
        cmd = [str(BIN / "python"), "-m", "config.stream_server", "--host", "127.0.0.1"]
        env = {**self.env, "DJANGO_SETTINGS_MODULE": "config.settings.stream"}
        self.procs.start("stream", [*cmd, "--port", str(self.ports["stream"])], env)
        wait_until(lambda: requests.get(f"{self.stream}/health", timeout=2).json()["subscribed"], what="stream")

    def start_relay(self) -> None:
        self.redis().delete("health:relay")
        self.procs.start("relay", [str(BIN / "python"), "manage.py", "relay"], self.env)
        wait_until(lambda: self.redis().exists("health:relay"), what="relay heartbeat")

    def start_apps(self) -> None:
        self.start_crm()
        self.start_api()
        self.start_stream()
        self.start_workers()
        self.start_relay()
        self.start_reconciler()
        self.start_bridge()

    def start_worker(self, service: str, queue: str) -> None:
        """One Celery worker as deploy/supervisord.conf runs it: SERVICE consumes QUEUE."""
        self.procs.start(
            service,
            [
                str(BIN / "celery"),
                "--workdir",
                "backend",
                "-A",
                "config",
                "worker",
                "--queues",
                queue,
                "--pool",
                "threads",
                "-c",
                str(self.worker_concurrency),
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{service}-{self.ports['api']}@%h",
            ],
            self.env,
        )

    def start_mailer(self) -> None:
        self.start_worker("mailer", "mail")

    def start_workflow_agent(self) -> None:
        self.start_worker("workflow-agent", "workflow")

    def start_workers(self) -> None:
        self.start_mailer()
        self.start_workflow_agent()

    @property
    def frontend(self) -> str:
        return f"http://127.0.0.1:{self.ports['frontend']}"

    def start_frontend(self, name: str = "frontend", port: int | None = None, **env: str) -> str:
        """The production build (frontend/dist), served as deploy.sh serves it; returns its URL. Another
        `name` and `port` start a second one beside it, with `env` changing its settings."""
        port = port or self.ports["frontend"]
        self.procs.start(
            name,
            [
                str(BIN / "gunicorn"),
                "--chdir",
                "deploy",
                "--bind",
                f"127.0.0.1:{port}",
                "--threads",
                "4",
                "--no-control-socket",
                "frontend_server:app",
            ],
            {**self.env, **env},
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(f"{url}/health"), what=f"{name} (is frontend/dist built?)")
        return url

    def start_reconciler(self) -> None:
        self.procs.start("reconciler", [str(BIN / "python"), "manage.py", "reconcile"], self.env)

    def start_bridge(self) -> None:
        self.redis().delete("health:bridge")
        self.procs.start("bridge", [str(BIN / "python"), "-m", "bridge"], self.env)
        wait_until(lambda: self.redis().exists("health:bridge"), what="bridge heartbeat")

    def start(self) -> "Stack":
        try:
            self.start_infra()
            self.start_apps()
        except Exception:
            self.stop()
            raise
        return self

    def supervise(self) -> "Stack":
        """Restart an app process that exits by itself, as supervisord does in local mode."""
        restart = {
            "mailer": Stack.start_mailer,
            "workflow-agent": Stack.start_workflow_agent,
            "bridge": Stack.start_bridge,
            "relay": Stack.start_relay,
            "reconciler": Stack.start_reconciler,
            "api": Stack.start_api,
            "stream": Stack.start_stream,
            "crm": Stack.start_crm,
        }
        self.supervising = threading.Event()
        self.restarts: dict[str, int] = {}

        def loop() -> None:
            while not self.supervising.wait(0.5):
                for name in self.procs.take_exited(set(restart)):  # exited: restart at once, as supervisord
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    try:
                        restart[name](self)
                    except Exception as exc:  # a restart that fails is tried again on the next round
                        print(f"supervisor: restarting {name} failed: {exc}", file=sys.stderr)

        threading.Thread(target=loop, name="stack-supervisor", daemon=True).start()
        return self

    def stop(self) -> None:
        if getattr(self, "supervising", None) is not None:
            self.supervising.set()
        self.procs.stop_all()
        if not os.environ.get("KEEP_TEST_DIRS"):  # the broker's log and the database go with the stack
            shutil.rmtree(self.tmp, ignore_errors=True)

    def completion_times(self, submission_ids: set[str]) -> dict[str, float]:
        return completion_times(self.env["DATABASE_URL"], submission_ids)

    def rss_mib(self) -> dict[str, float]:
        """Resident memory of each started service with its child processes, in MiB."""
        table = subprocess.run(["ps", "-eo", "pid=,ppid=,rss="], capture_output=True, text=True, check=True).stdout
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for line in table.splitlines():
            pid, ppid, kib = (int(cell) for cell in line.split())
            children.setdefault(ppid, []).append(pid)
            rss[pid] = kib

        def tree(pid: int) -> int:
            return rss.get(pid, 0) + sum(tree(child) for child in children.get(pid, []))

        return {name: tree(proc.pid) / 1024 for name, proc in self.procs.procs if proc.poll() is None}

    def logs(self) -> str:
        return "\n".join(
            f"==== {name}\n{self.procs.log(name)[-4000:]}"
            for name in ("relay", "bridge", "reconciler", "mailer", "workflow-agent", "api", "stream", "crm")
        )
