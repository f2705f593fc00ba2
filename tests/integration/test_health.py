"""Health means working: a process that is alive but fails at every attempt is reported down."""

import subprocess
import sys
import uuid

import pytest

from tests.conftest import submit
from tests.servers import BIN, REPO, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]


def test_a_bridge_that_cannot_hand_off_is_down_in_status_though_its_process_runs(stack):
    submit(stack, email=f"wedged-{uuid.uuid4().hex[:8]}@example.org")  # a record for it to fail on
    redis_port = stack.ports["redis"]
    wedged_env = {
        **stack.env,
        # Heartbeats in another Redis database, so that the stack's own bridge is not touched.
        "REDIS_URL": f"redis://:{stack.env['REDIS_PASSWORD']}@127.0.0.1:{redis_port}/1",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: every hand-off fails
        "KAFKA_CONSUMER_GROUP": f"wedged-{uuid.uuid4().hex[:8]}",
        "KAFKA_GROUP_INSTANCE_ID": f"wedged-{uuid.uuid4().hex[:8]}",
        "HEALTH_STUCK_SECONDS": "3",
    }
    bridge = stack.procs.start("wedged-bridge", [str(BIN / "python"), "-m", "bridge"], wedged_env)

    def health() -> subprocess.CompletedProcess:
        cmd = [sys.executable, "deploy/health.py", "bridge"]
        return subprocess.run(cmd, env=wedged_env, cwd=REPO, capture_output=True, text=True, timeout=10)

    try:
        first = wait_until(lambda: (lambda r: r if "failing" in r.stdout else None)(health()), timeout=60)
        assert first.stdout.startswith("bridge ok (heartbeat fresh, failing for")  # failing, not yet stuck
        stuck = wait_until(lambda: (lambda r: r if r.returncode else None)(health()), timeout=60)
        assert "bridge down (RuntimeError: alive but failing for" in stuck.stdout
        assert "hand-off at events.contact_form" in stuck.stdout
        assert bridge.poll() is None  # the process itself is alive all along
    finally:
        stack.procs.stop("wedged-bridge")
