"""Beyond one machine, in CI: `./deploy.sh start` with KAFKA_BROKERS=3, PostgreSQL and two of every
stateless service gives a healthy cluster (replication factor 3, min.insync.replicas 2 on every topic,
every client on the whole bootstrap list, two processes of each service answering), and a subset of
the cluster fault cases (tests/cluster_faults.py) passes on it with the suite's rule: every accepted
submission final, 0 lost, 0 duplicate emails, 0 duplicate leads. Each prints its line, with the
longest pause between two completions, in the run's figures. `./deploy.sh chaos --cluster` runs all.
"""

import os
import threading
from pathlib import Path

import pytest
import requests
from ops.runs import ThrowawayPostgres

from tests.cluster_faults import CASES, CI_CASES, RATE, SCALED, TOPIC, ClusterStack
from tests.conftest import report_figure
from tests.faults import run_case
from tests.servers import free_port, wait_until

pytestmark = pytest.mark.integration

COUNT = int(os.environ.get("CLUSTER_FAULT_COUNT", "60"))


@pytest.fixture(scope="module")
def cluster():
    postgres = ThrowawayPostgres(free_port())
    try:
        stack = ClusterStack(postgres.start()).start()
        yield stack
        stack.stop()
    finally:
        postgres.stop(keep=False)


def status_rows(stack: ClusterStack) -> dict[str, str]:
    """`status`'s service table: SERVICE → its PROCESS and HEALTH columns."""
    lines = stack.deploy("status", timeout=120).stdout.splitlines()
    rows = {}
    for line in lines[1:]:
        if not line.strip():
            break
        name, _, rest = line.partition(" ")
        rows[name] = rest.strip()
    return rows


def test_the_cluster_starts_healthy_with_three_replicas_and_two_of_each_service(cluster):
    assert "kafka (3 nodes" in cluster.started_output
    brokers = cluster.admin().list_topics(timeout=5).brokers
    every_node = [
        f"127.0.0.1:{int(cluster.env['KAFKA_BOOTSTRAP_SERVERS'].rpartition(':')[2]) + 2 * n}" for n in range(3)
    ]
    assert sorted(f"{b.host}:{b.port}" for b in brokers.values()) == every_node
    for topic, partitions in cluster.partitions().items():
        assert all(len(replicas) == 3 for _, replicas, _ in partitions.values()), topic  # factor 3, Kafka's own too
    configs = cluster.deploy(
        "kafka", "configs", "--describe", "--entity-type", "topics", "--entity-name", TOPIC, timeout=120
    )
    assert "min.insync.replicas=2" in configs.stdout, configs.stdout + configs.stderr
    service_env = (Path(cluster.env["RUN_DIR"]) / "service.env").read_text()
    assert f"export KAFKA_BOOTSTRAP_SERVERS={','.join(every_node)}" in service_env

    def all_healthy() -> dict[str, str] | None:
        rows = status_rows(cluster)
        return rows if all(rows[s].startswith("RUNNING(2)") and " ok " in f" {rows[s]} " for s in SCALED) else None

    # A health check is a snapshot (a worker's ping reply can miss its 2 s on a loaded box): wait for
    # every service to say so at once.
    rows = wait_until(all_healthy, timeout=120, interval=2, what="two healthy processes of each service")
    assert "2 processes on the port" in rows["api"] and "2 processes on the port" in rows["stream"]
    assert "2 heartbeats fresh" in rows["relay"]
    assert "2 worker(s)" in rows["mailer"]
    assert "postgresql" in cluster.env["DATABASE_URL"] or cluster.env["DATABASE_URL"].startswith("postgres")


def test_restarting_two_apis_keeps_their_port_answering(cluster):
    """`restart-service api` takes one replica at a time: every new connection meanwhile is served."""
    before = {process: cluster.pid(process) for process in ("app:api-0", "app:api-1")}
    answered, failed = [], []
    done = threading.Event()

    def probe() -> None:
        with requests.Session() as session:
            session.headers["Connection"] = "close"  # a new connection each time: the kernel picks a replica
            while not done.is_set():
                try:
                    response = session.get(f"{cluster.api}/health", timeout=10)
                    (answered if response.status_code == 200 else failed).append(response.status_code)
                except requests.RequestException as exc:
                    failed.append(f"{type(exc).__name__}: {exc}")
                done.wait(0.02)  # pacing: about 50 new connections a second

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        restarted = cluster.deploy("restart-service", "api", timeout=300)
    finally:
        done.set()
        prober.join()
    report_figure(f"restart-service api with two replicas: {len(answered)} requests answered, {len(failed)} failed")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "restarting api (2 processes, one at a time)" in restarted.stdout
    assert all(cluster.pid(process) != pid for process, pid in before.items())  # both were restarted
    assert failed == [] and len(answered) >= 20, failed[:5]


@pytest.mark.parametrize("name", CI_CASES)
def test_cluster_fault_case(cluster, name):
    outcome = run_case(cluster, CASES[name], count=COUNT, rate=RATE)
    report_figure(("PASS " if outcome.passed else "FAIL cluster ") + outcome.line())
    assert outcome.unfinished == 0, outcome.line()
    assert outcome.refused == 0, outcome.line()  # two APIs: nothing the cluster does refuses a visitor
    assert (outcome.missing_emails, outcome.duplicate_emails) == (0, 0), outcome.line()
    assert (outcome.duplicate_leads, outcome.missing_leads) == (0, 0), outcome.line()
    assert set(outcome.finals) == {"COMPLETED"}, outcome.line()
    assert outcome.longest_pause is not None, outcome.line()
