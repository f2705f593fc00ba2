"""`KAFKA_BROKERS=3 ./deploy.sh start`: a three-node KRaft cluster from the same jars, the topics at
replication factor 3 with min.insync.replicas 2, every client on the whole bootstrap list, and the
pipeline losing and repeating nothing while the broker that leads a partition is SIGKILLed."""

import os
import signal
import socket
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests
from ops.supervisor import Supervisor

from tests.conftest import report_figure
from tests.integration.test_deploy import (  # noqa: F401 (the fixture)
    basic,
    deploy,
    deploy_env,
    settings_file,
    state_of,
    submit_to,
)
from tests.servers import REPO, hold_until, wait_until


def free_block(size: int) -> int:
    """The first of `size` consecutive loopback ports that are all free (nodes take port + 2N)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + size >= 65535:
            continue
        sockets = []
        try:
            for port in range(first, first + size):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                sockets.append(sock)
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports")


def cluster_tables(env) -> tuple[list[list[str]], list[list[str]]]:
    """`status`'s broker rows and partition rows (PARTITION LEADER REPLICAS IN-SYNC)."""
    lines = deploy(env, "status").stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("BROKER"))
    brokers = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        brokers.append(line.split())
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["PARTITION", "LEADER"])
    partitions = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        partitions.append(line.split())
    return brokers, partitions


def supervisor(env) -> Supervisor:
    """The stack's supervisord, over its XML-RPC socket in the run directory."""
    return Supervisor(Path(env["RUN_DIR"]), REPO / "deploy" / "supervisord.conf", REPO / ".venv" / "bin")


def test_a_three_broker_cluster_keeps_every_submission_once_through_a_leader_sigkill(deploy_env):  # noqa: F811
    base = free_block(6)
    env = {
        **deploy_env,
        "KAFKA_BROKERS": "3",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{base}",
        "KAFKA_CONTROLLER_PORT": str(base + 1),
        "SUBMISSION_RATE_LIMIT": "1000/minute",  # one client sends every submission
    }
    started = deploy(env, "start", timeout=600)
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    assert "kafka (3 nodes" in started.stdout

    brokers, partitions = wait_until(
        lambda: (lambda t: t if len(t[0]) == 3 and all(len(p) == 4 for p in t[1]) else None)(cluster_tables(env)),
        timeout=60,
        what="three brokers, every partition fully in sync",
    )
    assert sorted(row[1] for row in brokers) == [f"127.0.0.1:{base + 2 * n}" for n in range(3)]
    assert partitions and all(len(row[2].split(",")) == 3 for row in partitions)  # replication factor 3
    configs = deploy(
        env,
        "kafka",
        "configs",
        "--describe",
        "--entity-type",
        "topics",
        "--entity-name",
        "events.contact_form",
        timeout=120,
    )
    assert "min.insync.replicas=2" in configs.stdout, configs.stdout + configs.stderr
    values = settings_file(env)
    service_env = (Path(env["RUN_DIR"]) / "service.env").read_text()
    every_node = ",".join(f"127.0.0.1:{base + 2 * n}" for n in range(3))
    assert f"export KAFKA_BOOTSTRAP_SERVERS={every_node}" in service_env

    # Load, and meanwhile the broker that leads partition 0 is SIGKILLed, then started again.
    api = f"http://127.0.0.1:{env['API_PORT']}"
    leader = int(partitions[0][1])
    process = "infra:kafka" if leader == 1 else f"infra:kafka-{leader - 1}"
    start = time.monotonic()

    def paced(n: int) -> dict:
        hold_until(start + n / 10)  # the load's pace: ten submissions a second for six seconds
        return submit_to(api, f"cluster-{n}-{time.monotonic_ns()}@example.org")

    with ThreadPoolExecutor(4) as pool:
        pending = [pool.submit(paced, n) for n in range(60)]
        hold_until(start + 2)
        pid = supervisor(env).rpc.getProcessInfo(process)["pid"]
        os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
        created = [future.result() for future in pending]
    supervisor(env).start([process])

    for submission in created:
        state = wait_until(
            lambda s=submission: (lambda st: st if st["status"] in ("COMPLETED", "COMPENSATED") else None)(state_of(s)),
            timeout=180,
            interval=0.5,
            what=f"submission {submission['id']} final",
        )
        assert state["status"] == "COMPLETED", state
    emails = {f"cluster-{n}" for n in range(60)}
    mail_api = f"http://127.0.0.1:{env['MAILDEV_WEB_PORT']}/api/email"
    auth = basic(f"{values['MAILDEV_WEB_USER']}:{values['MAILDEV_WEB_PASS']}")

    def per_address() -> Counter | None:
        mails = requests.get(mail_api, headers=auth, timeout=30).json()
        counts = Counter(
            "-".join(to["address"].split("-")[:2])  # cluster-N
            for mail in mails
            for to in mail["to"]
            if to["address"].startswith("cluster-")
        )
        return counts if set(counts) >= emails else None

    counts = wait_until(per_address, timeout=60, interval=0.5, what="an email per submission")
    assert set(counts) == emails and set(counts.values()) == {1}, counts  # none lost, none twice
    crm = sqlite3.connect(env["CRM_DATABASE_URL"].removeprefix("sqlite:///"))
    leads = Counter(row[0] for row in crm.execute("SELECT external_id FROM crm_crmlead"))
    assert {s["id"] for s in created} <= set(leads) and set(leads.values()) == {1}

    # The killed node rejoins and catches up: every partition has its three replicas in sync again.
    wait_until(
        lambda: (lambda t: len(t[0]) == 3 and all(len(p) == 4 for p in t[1]))(cluster_tables(env)),
        timeout=120,
        interval=1,
        what="the restarted broker back in sync",
    )
    in_sync_after = time.time() - killed_at
    # The figures of the case: the longest pause between two completions, and the last completion.
    pipeline = sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"))
    ids = {s["id"].replace("-", "") for s in created}
    finished = sorted(
        datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp()
        for submission_id, at in pipeline.execute("SELECT submission_id, finished_at FROM workflow_sagarun")
        if submission_id in ids
    )
    assert len(finished) == len(created)
    pause = max(b - a for a, b in zip(finished, finished[1:], strict=False))
    report_figure(
        f"cluster leader-sigkill: broker {leader} killed under 10/s; {len(created)} accepted, 0 lost, "
        f"0 duplicate emails, 0 duplicate leads; longest pause between completions {pause:.1f} s; last "
        f"completion {finished[-1] - killed_at:.1f} s after the kill; replicas in sync again after {in_sync_after:.0f} s"
    )
