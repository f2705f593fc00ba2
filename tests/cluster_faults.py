"""The fault suite on a cluster: PostgreSQL, three Kafka brokers (replication factor 3,
min.insync.replicas 2) and two of every stateless service, started by `./deploy.sh start` as a user
runs it, with supervisord restarting what dies.

    ./deploy.sh chaos --cluster [N] [CASE ...]       (.venv/bin/python -m tests.cluster_faults)

Each case runs tests/faults.py's `run_case` (the same load, pass rule and counts) at 10 submissions a
second, and reports the longest pause between two completions. CI runs a subset
(tests/integration/test_cluster_faults.py); `chaos --cluster` runs them all.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from ops.runs import ThrowawayPostgres
from ops.supervisor import Supervisor
from ops.supervisor import _alive as alive  # the stack's own test: gone, or a zombie

from common.kafka import KafkaAuth, client_config
from tests.faults import FAULT_ENV, Case, run_case
from tests.servers import (
    REPO,
    completion_times,
    free_block,
    free_port,
    own_deploy_env,
    wait_until,
)

SCALED = ("api", "stream", "relay", "bridge", "mailer", "workflow-agent")  # two of each
RATE = 10.0  # submissions a second: what this 2-core machine carries with the cluster on it
TOPIC = "events.contact_form"
GROUP = "bridge"
REBALANCING = ("PREPARING_REBALANCING", "COMPLETING_REBALANCING")  # confluent_kafka's ConsumerGroupState


class ClusterStack:
    """`./deploy.sh start` with KAFKA_BROKERS=3, two of each SCALED service and `database_url`, on
    ports, a run directory and data of its own."""

    def __init__(self, database_url: str):
        self.tmp = Path(tempfile.mkdtemp(prefix="intake-cluster-"))
        base = free_block(6)  # node N: base + 2N, its controller base + 2N + 1
        # API_WORKERS stays own_deploy_env's 1: two replicas are the two workers of one default API.
        self.env = own_deploy_env(
            self.tmp,
            kafka_port=base,
            controller_port=base + 1,
            DATABASE_URL=database_url,
            DJANGO_SECRET_KEY="cluster-faults",
            KAFKA_BROKERS="3",
            SUBMISSION_RATE_LIMIT="100000/minute",  # one client sends every submission
            CONFIRMATIONS_PER_RECIPIENT="100000",
            # A bridge that leaves (a static member sends no LeaveGroup) gives its partitions back after
            # this: Kafka's default before 3.0, instead of 45 s, so that one case does not hold the next.
            KAFKA_SESSION_TIMEOUT_MS="10000",
            **FAULT_ENV,
        )
        self.supervisor = Supervisor(
            Path(self.env["RUN_DIR"]), REPO / "deploy" / "supervisord.conf", REPO / ".venv" / "bin"
        )

    # --- the stack as run_case sees it ------------------------------------------------------

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def maildev(self) -> str:
        user, password = (quote(self.env[name], safe="") for name in ("MAILDEV_WEB_USER", "MAILDEV_WEB_PASS"))
        return f"http://{user}:{password}@127.0.0.1:{self.env['MAILDEV_WEB_PORT']}"

    @property
    def crm(self) -> str:
        return f"http://127.0.0.1:{self.env['CRM_PORT']}/crm/api"

    def completion_times(self, submission_ids: set[str]) -> dict[str, float]:
        return completion_times(self.env["DATABASE_URL"], submission_ids)

    # --- running it -------------------------------------------------------------------------

    def deploy(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["./deploy.sh", *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def start(self) -> "ClusterStack":
        for service in SCALED:  # before the start: "from the next start", as a user would
            scaled = self.deploy("scale", service, "2")
            assert scaled.returncode == 0, scaled.stdout + scaled.stderr
        started = self.deploy("start", timeout=900)
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"the cluster did not start:\n{started.stdout[-4000:]}\n{started.stderr[-4000:]}")
        self.started_output = started.stdout
        # The secrets the first start generated (the CRM's token, the SMTP catcher's and Kafka's passwords).
        lines = Path(self.env["ENV_FILE"]).read_text().splitlines()
        self.env.update(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
        wait_until(self.in_sync, timeout=120, interval=0.5, what="every partition with its three replicas in sync")
        return self

    def stop(self) -> None:
        self.deploy("stop", timeout=300)
        if not os.environ.get("KEEP_TEST_DIRS"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- Kafka, as any client sees it -------------------------------------------------------

    def _config(self, **extra) -> dict:
        return client_config(
            self.env["KAFKA_BOOTSTRAP_SERVERS"], KafkaAuth.from_mapping(self.env), log_level=0, **extra
        )

    def admin(self) -> AdminClient:
        """One admin client for the suite: a future of a client that is gone never completes."""
        if getattr(self, "_admin", None) is None:
            self._admin = AdminClient(self._config())
        return self._admin

    def partitions(self) -> dict[str, dict[int, tuple[int, list[int], list[int]]]]:
        """topic → partition → (leader, replicas, in-sync replicas), every topic (Kafka's own too)."""
        topics = self.admin().list_topics(timeout=5).topics
        return {
            name: {p.id: (p.leader, list(p.replicas), list(p.isrs)) for p in topic.partitions.values()}
            for name, topic in topics.items()
        }

    def in_sync(self) -> bool:
        """Three brokers, and every partition led and with all its replicas in sync."""
        if len(self.admin().list_topics(timeout=5).brokers) != 3:
            return False
        rows = [row for topic in self.partitions().values() for row in topic.values()]
        return bool(rows) and all(leader >= 0 and sorted(isr) == sorted(rep) for leader, rep, isr in rows)

    def quorum_leader(self) -> int:
        """The active KRaft controller: the quorum's leader, as Kafka's metadata-quorum tool reads it
        (a client's metadata names a random live broker as its controller under KRaft)."""
        described = self.deploy("kafka", "metadata-quorum", "describe", "--status", timeout=60)
        for line in described.stdout.splitlines():
            if line.startswith("LeaderId:"):
                return int(line.split(":", 1)[1])
        raise RuntimeError(f"no LeaderId in: {described.stdout[-300:]} {described.stderr[-300:]}")

    def busiest_partition(self) -> int:
        """The partition of the events topic with the most records."""
        consumer = Consumer(self._config(**{"group.id": "cluster-faults-probe", "enable.auto.commit": False}))
        try:
            ends = {
                p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=5)[1]
                for p in self.partitions()[TOPIC]
            }
        finally:
            consumer.close()
        return max(ends, key=ends.get)

    def group(self):
        """The bridges' consumer group as the coordinator describes it (state, members)."""
        return self.admin().describe_consumer_groups([GROUP], request_timeout=5)[GROUP].result(timeout=10)

    def group_state(self) -> str:
        return self.group().state.name

    # --- processes --------------------------------------------------------------------------

    @staticmethod
    def node_process(node_id: int) -> str:
        """supervisord's name of KRaft node `node_id` (node.id = N + 1 for kafka-N; kafka is node 1)."""
        return "infra:kafka" if node_id == 1 else f"infra:kafka-{node_id - 1}"

    def pid(self, process: str) -> int:
        return self.supervisor.rpc.getProcessInfo(process)["pid"]

    def kill(self, process: str) -> None:
        """SIGKILL a process, as a crash would; supervisord starts it again by itself."""
        pid = self.pid(process)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid), timeout=10, what=f"{process} gone")

    def running_again(self, process: str, old_pid: int | None = None) -> None:
        wait_until(
            lambda: (
                (info := self.supervisor.rpc.getProcessInfo(process))["statename"] == "RUNNING"
                and info["pid"] != old_pid
            ),
            timeout=120,
            interval=0.2,
            what=f"{process} running again",
        )


# --- the faults ------------------------------------------------------------------------------------


def leader_sigkill(stack: ClusterStack) -> str:
    """SIGKILL the broker leading the busiest partition; supervisord restarts it; wait until it is back
    in sync (the next case starts from a whole cluster)."""
    partition = stack.busiest_partition()
    leader = stack.partitions()[TOPIC][partition][0]
    process = stack.node_process(leader)
    pid = stack.pid(process)
    stack.kill(process)
    moved = time.monotonic()
    wait_until(lambda: stack.partitions()[TOPIC][partition][0] not in (leader, -1), timeout=60, interval=0.1)
    new_leader = stack.partitions()[TOPIC][partition][0]
    moved = time.monotonic() - moved
    stack.running_again(process, pid)
    wait_until(stack.in_sync, timeout=180, interval=0.5, what="the killed broker back in sync")
    return f"broker {leader} led partition {partition} (the busiest); broker {new_leader} led it {moved:.1f} s after the kill"


def rolling_restart(stack: ClusterStack) -> str:
    """Restart the three brokers one after another (a controlled shutdown each), the next only when
    every partition is in sync again, as an upgrade does."""
    taken = []
    for node in (1, 2, 3):
        began = time.monotonic()
        process = stack.node_process(node)
        stack.supervisor.stop([process])
        stack.supervisor.start([process])
        wait_until(stack.in_sync, timeout=180, interval=0.5, what=f"node {node} back in sync")
        taken.append(time.monotonic() - began)
    return "nodes back in sync after " + ", ".join(f"{seconds:.0f}" for seconds in taken) + " s"


def group_members(stack: ClusterStack) -> int | None:
    """How many bridges the group has, once it is stable (None while it rebalances)."""
    described = stack.group()
    return len(described.members) if described.state.name == "STABLE" else None


def bridge_sigkill_in_rebalance(stack: ClusterStack) -> str:
    """A third bridge joins the group of two (a new member: the group rebalances to give it
    partitions); while the group is rebalancing, bridge-0 is SIGKILLed, and supervisord restarts it.
    Then the third leaves again (a static member: the group notices after its session time-out)."""
    stack.supervisor.rpc.startProcess("app:bridge-2", False)
    try:
        state = wait_until(
            lambda: (s := stack.group_state()) in REBALANCING and s, timeout=30, interval=0.02, what="a rebalance"
        )
    except TimeoutError:
        state = "not seen rebalancing within 30 s"
    pid = stack.pid("app:bridge-0")
    stack.kill("app:bridge-0")
    killed = time.monotonic()
    stack.running_again("app:bridge-0", pid)
    wait_until(lambda: group_members(stack) == 3, timeout=120, interval=0.2, what="three bridges")
    settled = time.monotonic() - killed
    stack.supervisor.stop(["app:bridge-2"])
    wait_until(lambda: group_members(stack) == 2, timeout=120, interval=0.2, what="two bridges again")
    return f"bridge-0 SIGKILLed while the group was {state}; three members stable {settled:.1f} s after the kill"


def relay_sigkill_holding_claims(stack: ClusterStack) -> str:
    """SIGKILL a relay while it holds claimed, unpublished outbox rows (a ContactFormSubmitted among
    them), the other relay going on: its rows wait out their claim (OUTBOX_CLAIM_SECONDS) and the
    other publishes them. The relay whose claim is seen is frozen first (SIGSTOP) and killed only if
    its rows are still unpublished then, so that the kill is known to land on held claims."""
    import psycopg

    claims = (  # a submission's first event: its whole pipeline waits on the claim
        "SELECT claim_token FROM outbox_outboxevent WHERE published_at IS NULL AND claimed_until > now() "
        "AND claim_token LIKE 'relay-%' AND event_type = 'ContactFormSubmitted'"
    )
    unpublished = (
        "SELECT count(*), string_agg(DISTINCT event_type, ', ') FROM outbox_outboxevent "
        "WHERE claim_token = %s AND published_at IS NULL"
    )
    deadline = time.monotonic() + 60
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as db:
        while True:
            [(token,), *_] = wait_until(
                lambda: db.execute(claims).fetchall(), timeout=60, interval=0.002, what="a relay's claim"
            )
            process = f"app:relay-{token.split('-')[1]}"  # relay-N-<random>
            pid = stack.pid(process)
            os.kill(pid, signal.SIGSTOP)
            held, types = db.execute(unpublished, [token]).fetchone()
            if held:
                break
            os.kill(pid, signal.SIGCONT)  # it had published them already: try the next claim
            if time.monotonic() > deadline:
                raise TimeoutError("no relay caught holding its claim within 60 s")
    stack.kill(process)  # a stopped process dies of SIGKILL as a running one does
    stack.running_again(process, pid)
    return f"{process.split(':')[1]} SIGKILLed holding {held} claimed, unpublished row(s) ({types})"


def api_replica_sigkill(stack: ClusterStack) -> str:
    """SIGKILL one of the two API replicas whole (gunicorn's master and its workers, its process
    group), as a crashed machine loses it: the kernel hands new connections to the other replica on
    the shared port; a request that was in flight on the dead one fails; supervisord restarts it."""
    pid = stack.pid("app:api-0")
    os.killpg(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid), timeout=10, what="api-0 gone")
    stack.running_again("app:api-0", pid)
    return "api-0 (master and workers) SIGKILLed; supervisord restarted it"


def controller_voter_loss(stack: ClusterStack) -> str:
    """SIGKILL the active KRaft controller (the quorum's leader, also a broker here): the two voters
    left elect another; supervisord restarts the node, which rejoins the quorum and catches up."""
    leader = stack.quorum_leader()
    process = stack.node_process(leader)
    pid = stack.pid(process)
    stack.kill(process)
    began = time.monotonic()
    # Each look is a JVM tool's run (a few seconds): the time is an upper bound within that.
    elected = wait_until(
        lambda: (n := stack.quorum_leader()) != leader and n, timeout=90, interval=0.2, what="a new quorum leader"
    )
    took = time.monotonic() - began
    stack.running_again(process, pid)
    wait_until(stack.in_sync, timeout=180, interval=0.5, what="the old controller back in sync")
    return f"controller (quorum leader) {leader} SIGKILLed; node {elected} leads the quorum, seen {took:.1f} s after"


CASES = {
    case.name: case
    for case in (
        Case("leader-sigkill", leader_sigkill),
        Case("rolling-restart", rolling_restart, load_through_fault=True, deadline=360.0),
        Case("bridge-rebalance-sigkill", bridge_sigkill_in_rebalance),
        Case("relay-sigkill-claims", relay_sigkill_holding_claims),
        Case("controller-loss", controller_voter_loss),
        # Only what was in flight on the dead replica may fail: half a second of load.
        Case("api-replica-sigkill", api_replica_sigkill, refusal_allowed_seconds=0.5),
    )
}
CI_CASES = ("leader-sigkill", "bridge-rebalance-sigkill", "relay-sigkill-claims")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100, help="submissions per case (at 10/s)")
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"default: all of {', '.join(CASES)}")
    args = parser.parse_args()
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    # A SIGTERM (a CI time-out, kill) still stops the cluster and PostgreSQL: the finally below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    postgres = ThrowawayPostgres(free_port())
    stack = ClusterStack(postgres.start())
    failed = 0
    try:
        began = time.monotonic()
        stack.start()
        print(f"cluster up in {time.monotonic() - began:.0f} s: 3 brokers, PostgreSQL, two of {', '.join(SCALED)}")
        for name in args.cases or CASES:
            outcome = run_case(stack, CASES[name], args.count, RATE)
            failed += not outcome.passed
            print(("PASS " if outcome.passed else "FAIL ") + outcome.line(), flush=True)
    finally:
        stack.stop()
        postgres.stop(keep=False)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
