"""./deploy.sh as a user runs it, on free ports and in a temporary run directory."""

import base64
import json
import os
import re
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis
import requests
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from common.kafka import KafkaAuth, client_config
from tests.servers import (
    REPO,
    free_port,
    own_deploy_env,
    port_open,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def deploy_env():
    tmp = Path(tempfile.mkdtemp(prefix="intake-deploy-"))
    env = own_deploy_env(
        tmp,
        kafka_port=free_port(),
        controller_port=free_port(),
        DJANGO_SECRET_KEY="deploy-test",
        DJANGO_SETTINGS_MODULE="config.settings.base",
        MAILER_CONCURRENCY="4",
        WORKFLOW_CONCURRENCY="4",
    )
    yield env
    subprocess.run(["./deploy.sh", "stop"], cwd=REPO, env=env, capture_output=True, timeout=120)


def deploy(env, *args, timeout=300):
    return subprocess.run(["./deploy.sh", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def lag_table(status_stdout: str) -> dict[str, tuple[str, int, int]]:
    """The consumer lag rows that `status` prints: partition (or 'total') -> (committed, end, lag)."""
    lines = status_stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["PARTITION", "COMMITTED"])
    rows = {}
    for line in lines[header + 1 :]:
        cells = line.split()
        if cells[0] == "total":
            rows["total"] = ("", int(cells[1]), int(cells[2]))
            break
        rows[cells[0]] = (cells[1], int(cells[2]), int(cells[3]))
    return rows


def tool_lag(env) -> int:
    """The LAG column summed over `./deploy.sh kafka consumer-groups --describe --group bridge`."""
    result = deploy(env, "kafka", "consumer-groups", "--describe", "--group", "bridge", timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    header = next(cells for cells in lines if "LAG" in cells)
    rows = [cells for cells in lines if cells is not header and cells[0] == "bridge"]
    # A partition the group never committed shows "-": the bridge starts there at the earliest
    # record, and this topic keeps every record from offset 0, so its lag is its end offset.
    lag, end = header.index("LAG"), header.index("LOG-END-OFFSET")
    return sum(int(cells[end] if cells[lag] == "-" else cells[lag]) for cells in rows)


def submit_to(api: str, email: str) -> dict:
    body = {"name": "Deploy", "email": email, "message": "hi"}
    response = requests.post(f"{api}/api/submissions/", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def state_of(created: dict) -> dict:
    headers = {"Authorization": f"Bearer {created['access_token']}"}
    return requests.get(created["status_url"], headers=headers, timeout=5).json()


def completed(created: dict) -> bool:
    return state_of(created)["status"] == "COMPLETED"


def settings_file(env) -> dict[str, str]:
    lines = Path(env["ENV_FILE"]).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def test_start_status_stop_as_a_user_runs_them(deploy_env):
    started = deploy(deploy_env, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    lines = started.stdout.splitlines()
    assert all(line.startswith("==> ") for line in lines[: lines.index("==> all services healthy")])
    assert f"http://localhost:{deploy_env['FRONTEND_PORT']}" in started.stdout

    again = deploy(deploy_env, "start")
    assert again.returncode == 0 and "already running" in again.stdout

    status = deploy(deploy_env, "status")
    assert status.returncode == 0, status.stdout
    rows = {line.split()[0]: line.split()[1:] for line in status.stdout.split("\n\n")[0].splitlines()[1:]}
    assert set(rows) == {
        "kafka",
        "redis",
        "smtp",
        "prometheus",
        "crm",
        "api",
        "stream",
        "mailer",
        "workflow-agent",
        "relay",
        "bridge",
        "reconciler",
        "flower",
        "frontend",
    }
    assert all(row[0] == "RUNNING" and row[1] == "ok" for row in rows.values()), status.stdout
    assert (
        "kafka           RUNNING    ok (events.contact_form: 3 partitions, 1 replicas, 0 under-replicated)"
        in status.stdout
    )
    assert "BROKER" in status.stdout and "LEADER" in status.stdout  # the cluster view: one broker here

    api = f"http://127.0.0.1:{deploy_env['API_PORT']}"
    created = submit_to(api, "deploy@example.org")
    stream = (
        f"http://127.0.0.1:{deploy_env['STREAM_PORT']}/api/submissions/{created['id']}/events"
        f"?access_token={created['access_token']}"
    )
    with requests.get(stream, stream=True, timeout=60) as response:  # live progress, on its own port
        last = [line for line in response.iter_lines(decode_unicode=True) if line.startswith("data: ")][-1]
    assert '"status": "COMPLETED"' in last
    assert wait_until(lambda: completed(created), timeout=60, what="the submission to complete")
    assert_operator_pages_are_closed(deploy_env)
    assert_private_at_rest(deploy_env)
    stopped = deploy(deploy_env, "stop")
    assert stopped.returncode == 0
    assert deploy(deploy_env, "status").stdout.strip() == "not running"
    assert not port_open(int(deploy_env["API_PORT"]))
    assert (Path(deploy_env["KAFKA_DATA_DIR"]) / "cluster.id").is_file()


def assert_private_at_rest(env):
    """Finding 8 of "Safe by default, round two": what the stack writes (logs, the database and its
    WAL, Kafka's log, Redis' files) is readable by its user only."""
    written = [Path(env["RUN_DIR"]), Path(env["KAFKA_DATA_DIR"]), Path(env["DATABASE_URL"].removeprefix("sqlite:///"))]
    paths = [path for top in written for path in (top, *top.parent.glob(top.name + "-*"), *top.rglob("*"))]
    assert len(paths) > 20, paths
    readable = [
        f"{path} {stat.filemode(path.lstat().st_mode)}"
        for path in paths
        if path.lstat().st_mode & 0o077 and not path.is_symlink() and not path.is_socket()
    ]
    assert readable == [], readable


def assert_operator_pages_are_closed(env):
    """Finding 1 and 4 of "Safe by default": the settings file is its owner's alone and holds generated
    credentials; Flower, the SMTP catcher and the mock CRM refuse callers without them, and Flower
    gives no other web page access (no CORS headers)."""
    assert stat.S_IMODE(os.stat(env["ENV_FILE"]).st_mode) == 0o600
    values = settings_file(env)
    for name in ("FLOWER_BASIC_AUTH", "MAILDEV_WEB_PASS", "CRM_API_TOKEN"):
        assert len(values.get(name, "")) >= 16, name
    flower = f"http://127.0.0.1:{env['FLOWER_PORT']}"
    evil = {"Origin": "http://evil.example"}
    for path in ("/api/workers", "/api/tasks", "/"):
        refused = requests.get(f"{flower}{path}", headers=evil, timeout=10)
        assert refused.status_code == 401, path
        assert "Access-Control-Allow-Origin" not in refused.headers
    shutdown = requests.post(f"{flower}/api/worker/shutdown/mailer@x", headers=evil, timeout=10)
    assert shutdown.status_code in (401, 403)  # refused (Flower checks its XSRF cookie first)
    operator = requests.get(f"{flower}/api/workers", headers={**evil, **basic(values["FLOWER_BASIC_AUTH"])}, timeout=10)
    assert operator.status_code == 200
    assert "Access-Control-Allow-Origin" not in operator.headers
    maildev = f"http://127.0.0.1:{env['MAILDEV_WEB_PORT']}/api/email"
    assert requests.get(maildev, timeout=5).status_code == 401
    mails = requests.get(
        maildev, headers=basic(f"{values['MAILDEV_WEB_USER']}:{values['MAILDEV_WEB_PASS']}"), timeout=5
    )
    assert mails.status_code == 200
    assert requests.get(f"http://127.0.0.1:{env['CRM_PORT']}/crm/api/leads/", timeout=5).status_code == 403
    # Redis asks for the generated password (finding 8 of round two: it took any user of the host).
    assert len(values.get("REDIS_PASSWORD", "")) >= 16
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=int(env["REDIS_PORT"]), socket_timeout=5).ping()
    assert redis.Redis(port=int(env["REDIS_PORT"]), password=values["REDIS_PASSWORD"], socket_timeout=5).ping()
    # Kafka asks for the generated one too (the same finding: it took any user of the host).
    assert len(values.get("KAFKA_SASL_PASSWORD", "")) >= 16
    bootstrap = {"bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"], "log_level": 0}
    with pytest.raises(KafkaException):
        AdminClient(bootstrap).list_topics(timeout=5)
    signed_in = client_config(env["KAFKA_BOOTSTRAP_SERVERS"], KafkaAuth.from_mapping(values), log_level=0)
    assert "events.contact_form" in AdminClient(signed_in).list_topics(timeout=10).topics


def test_status_and_the_kafka_verb_show_the_bridges_lag_and_the_log_outlives_a_restart(deploy_env):
    assert deploy(deploy_env, "start").returncode == 0
    api = f"http://127.0.0.1:{deploy_env['API_PORT']}"
    first = submit_to(api, "lag-first@example.org")
    wait_until(lambda: completed(first), timeout=60, what="the first submission to complete")
    caught_up = wait_until(
        lambda: (lambda t: t if t["total"][2] == 0 else None)(lag_table(deploy(deploy_env, "status").stdout)),
        timeout=30,
        what="the bridge to commit every record",
    )
    records = caught_up["total"][1]
    assert records >= 3 and len(caught_up) == 4  # three partitions and the total

    assert deploy(deploy_env, "stop-service", "bridge").returncode == 0
    behind = [submit_to(api, f"lag-{n}@example.org") for n in range(2)]
    wait_until(
        lambda: all(state_of(c)["published_at"] for c in behind),
        what="the two events to reach Kafka",
    )
    status = deploy(deploy_env, "status")
    assert status.returncode != 0  # the bridge is down
    table = lag_table(status.stdout)
    assert table["total"] == ("", records + 2, 2)
    assert sum(lag for committed, end, lag in table.values() if committed) == 2
    assert tool_lag(deploy_env) == 2

    topics = deploy(deploy_env, "kafka", "topics", "--describe", "--topic", "events.contact_form", timeout=60)
    assert topics.returncode == 0 and "PartitionCount: 3" in topics.stdout

    # The broker's log is kept across a restart of the whole stack: nothing read or unread is lost.
    assert deploy(deploy_env, "restart").returncode == 0
    for created in behind:
        wait_until(lambda c=created: completed(c), timeout=60, what="the waiting submissions to complete")
    after = wait_until(
        lambda: (lambda t: t if t["total"][2] == 0 else None)(lag_table(deploy(deploy_env, "status").stdout)),
        timeout=30,
        what="the bridge to catch up",
    )
    assert after["total"][1] > records + 2  # the earlier records and the new events, all on disk
    assert tool_lag(deploy_env) == 0

    # restart-service applies an edited settings file (supervisord keeps its start environment).
    crm = f"http://127.0.0.1:{deploy_env['CRM_PORT']}/crm/api/leads/"
    token = {"Authorization": f"Bearer {settings_file(deploy_env)['CRM_API_TOKEN']}"}
    assert requests.get(crm, headers=token, timeout=5).status_code == 200
    with open(deploy_env["ENV_FILE"], "a") as edited:
        edited.write("CRM_FAIL_RATE=1\n")
    assert deploy(deploy_env, "restart-service", "crm").returncode == 0
    assert requests.get(crm, headers=token, timeout=5).status_code == 503


def test_a_taken_port_is_reported_by_name_before_anything_starts(deploy_env):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(deploy_env["API_PORT"])))
        blocker.listen()
        result = deploy(deploy_env, "start", timeout=60)
    assert result.returncode != 0
    assert f"port {deploy_env['API_PORT']} (api, API_PORT) is already in use" in result.stderr
    assert not (Path(deploy_env["RUN_DIR"]) / "supervisord.pid").exists()


def test_help_lists_every_command():
    result = subprocess.run(["./deploy.sh", "help"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    commands = (
        "start",
        "stop",
        "restart",
        "status",
        "logs",
        "restart-service",
        "stop-service",
        "build",
        "cleanup",
        "chaos",
    )
    for command in (*commands, "test", "kafka"):
        assert f"\n  {command}" in result.stdout


def test_the_benchmark_smoke_run_prints_its_table_and_writes_figures_and_a_chart(deploy_env):
    """`./deploy.sh bench --smoke`: that it works end to end (its numbers are for the full run)."""
    tmp = Path(deploy_env["RUN_DIR"]).parent
    env = {
        **deploy_env,
        "BENCH_RUN_DIR": str(tmp / "bench-run"),
        "BENCH_DATA_DIR": str(tmp / "bench-data"),
        "BENCH_OUT": str(tmp / "bench-out"),
        "BENCH_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
    }
    result = deploy(env, "bench", "--smoke", timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for line in ("20/s", "100/s", "500/s", "burst 1000", "burst 10000", "baseline 100/s", "whole stack"):
        assert line in result.stdout, line
    figures = json.loads((tmp / "bench-out" / "bench.json").read_text())
    phases = figures["phases"]
    assert phases["20/s"]["ingest"]["failed"] == 0 and phases["20/s"]["pipeline"]["final"]["n"] > 0
    integrity = phases["burst 10000"]["integrity"]
    assert integrity["accepted"] > 0 and integrity["lost"] == 0
    assert integrity["duplicate_emails"] == integrity["duplicate_leads"] == integrity["missing_emails"] == 0
    assert phases["viewers"]["viewers_told_final"] == phases["viewers"]["viewers"]
    assert phases["burst 10000"]["cpu_ms_per_submission"]["total"] > 0
    assert (tmp / "bench-out" / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not Path(env["BENCH_DATA_DIR"]).exists()  # the benchmark's data goes with it


def test_help_explains_scale_and_the_log_options():
    result = subprocess.run(["./deploy.sh", "help"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert "\n  scale SERVICE N" in result.stdout
    for option in ("--follow", "--correlation ID", "--grep TEXT", "--no-follow"):
        assert option in result.stdout, option
    assert "Node.js 20.19+" in result.stdout and "apt-get install nodejs" not in result.stdout


def test_a_too_old_node_stops_start_with_the_version_it_needs_before_anything_starts(deploy_env, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "node").write_text("#!/bin/sh\necho v18.19.0\n")  # Debian 12's nodejs
    (fake / "node").chmod(0o755)
    result = deploy({**deploy_env, "PATH": f"{fake}:{deploy_env['PATH']}"}, "start", timeout=60)
    assert result.returncode != 0
    assert "Node.js 20.19+ with npm is required (node: v18.19.0" in result.stderr
    assert "NodeSource" in result.stderr and "nvm" in result.stderr
    assert "apt-get install nodejs" not in result.stderr  # that is the Node.js 18 this refuses
    assert "==> starting" not in result.stdout
    assert not (Path(deploy_env["RUN_DIR"]) / "supervisord.pid").exists()


def status_rows(env) -> dict[str, str]:
    """`status`'s table: service -> "PROCESS HEALTH" (one space between them)."""
    table = deploy(env, "status").stdout.split("\n\n")[0].splitlines()[1:]
    return {line.split()[0]: " ".join(line.split()[1:]) for line in table}


def bridge_members(env) -> set[str]:
    """The static member ids in the bridge's consumer group, from Kafka's own tool."""
    result = deploy(env, "kafka", "consumer-groups", "--describe", "--group", "bridge", "--members", timeout=60)
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    header = next(cells for cells in lines if "GROUP-INSTANCE-ID" in cells)
    column = header.index("GROUP-INSTANCE-ID")
    return {cells[column] for cells in lines if cells is not header and cells[0] == "bridge"}


def first_time_stamp(line: str) -> str:
    match = re.search(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?", line)
    return match.group(0).replace("T", " ").replace(",", ".") if match else ""


def test_scale_runs_worker_and_bridge_processes_that_work_and_logs_follow_a_submission(deploy_env):
    # A pid file left by a reboot, whose pid is now a live process of another kind: start must not
    # take it for the stack's supervisord.
    run_dir = Path(deploy_env["RUN_DIR"])
    run_dir.mkdir(parents=True)
    (run_dir / "supervisord.pid").write_text(f"{os.getpid()}\n")
    env = {**deploy_env, "KAFKA_SESSION_TIMEOUT_MS": "10000"}  # a stopped static member's partitions move sooner
    started = deploy(env, "start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "already running" not in started.stdout and "stale" in started.stdout
    assert status_rows(env)["mailer"] == "RUNNING ok (1 worker(s))"

    for service in ("mailer", "workflow-agent", "bridge"):
        scaled = deploy(env, "scale", service, "2")
        assert scaled.returncode == 0, scaled.stdout + scaled.stderr
        assert f"==> {service}: 2 process(es) running" in scaled.stdout
    rows = status_rows(env)
    assert rows["mailer"] == "RUNNING(2) ok (2 worker(s))"  # two Celery nodes, mailer-0@ and mailer-1@
    assert rows["workflow-agent"] == "RUNNING(2) ok (2 worker(s))"
    assert rows["bridge"].startswith("RUNNING(2) ok")
    # Two static members of the group, each with its own id (one id would fence the other out).
    assert wait_until(lambda: len(bridge_members(env)) == 2, timeout=60, what="two bridges in the group")

    api = f"http://127.0.0.1:{env['API_PORT']}"
    created = submit_to(api, "scaled@example.org")
    assert wait_until(lambda: completed(created), timeout=60, what="the submission to complete")

    restarted = deploy(env, "restart-service", "workflow-agent")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "restarting workflow-agent (2 processes, one at a time)" in restarted.stdout
    mailer_logs = deploy(env, "logs", "mailer", "--no-follow")
    assert mailer_logs.returncode == 0
    assert "mailer-0.log <==" in mailer_logs.stdout and "mailer-1.log <==" in mailer_logs.stdout

    # Every line that carries the submission's correlation id, from every process, in time order.
    correlation_id = state_of(created)["correlation_id"]
    found = deploy(env, "logs", "--correlation", correlation_id)
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    in_files = sum(
        correlation_id in line for log in run_dir.glob("logs/*.log") for line in log.read_text().splitlines()
    )
    assert len(lines) == in_files >= 1
    assert all(correlation_id in line for line in lines)
    assert "api-0" in {line.split(" | ", 1)[0] for line in lines}  # its access line names the submission
    stamps = [stamp for stamp in map(first_time_stamp, lines) if stamp]
    assert stamps == sorted(stamps)
    missing = deploy(env, "logs", "--grep", "no-such-text-in-any-log")
    assert missing.returncode == 1 and missing.stdout == ""

    for service in ("mailer", "workflow-agent", "bridge"):
        assert deploy(env, "scale", service, "1").returncode == 0
    rows = status_rows(env)
    assert rows["mailer"] == "RUNNING ok (1 worker(s))" and rows["workflow-agent"] == "RUNNING ok (1 worker(s))"
    assert rows["bridge"].startswith("RUNNING ok")
    after = submit_to(api, "scaled-down@example.org")
    assert wait_until(lambda: completed(after), timeout=90, what="a submission to complete after scaling down")
