"""A first run as a newcomer makes it: a fresh copy of the repository, an empty HOME (no Maven, npm or
pip cache, no ~/.m2 at all), no .env and no data/, then `./deploy.sh start`, one submission, `stop`.

Every machine that ran the tests before had warm caches, which is how `./deploy.sh` once exited 1
without a word on a machine without ~/.m2/repository. This is the slowest test (a few minutes: it
downloads Kafka's jars, the Python packages and the npm packages), and worth it.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.servers import METRICS_PORTS, PORT_VARS, REPO, TEST_KAFKA_HEAP, free_port, port_open, wait_until

pytestmark = pytest.mark.integration

# Settings of this session's own runs that a newcomer's shell does not have.
NOT_A_NEWCOMERS = ("DJANGO_", "CELERY_", "KAFKA_", "CRM_", "DATABASE_URL", "ENV_FILE", "RUN_DIR", "VENV", "MAVEN_")


def copy_of_the_work_tree(target: Path) -> None:
    """What a clone of this tree holds: tracked and new files as they are now, nothing ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture
def newcomer():
    top = Path(tempfile.mkdtemp(prefix="intake-cold-start-"))
    clone, home = top / "intake", top / "home"
    home.mkdir()
    copy_of_the_work_tree(clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_A_NEWCOMERS)}
    env.update({name: str(free_port()) for name in (*PORT_VARS, *METRICS_PORTS.values(), "KAFKA_CONTROLLER_PORT")})
    env.update(
        HOME=str(home),
        DEPLOY_MODE="local",
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        KAFKA_HEAP_OPTS=TEST_KAFKA_HEAP,
        MAILER_CONCURRENCY="2",
        WORKFLOW_CONCURRENCY="2",
        API_WORKERS="1",
    )
    yield clone, home, env
    subprocess.run(["./deploy.sh", "stop"], cwd=clone, env=env, capture_output=True, timeout=120)
    shutil.rmtree(top, ignore_errors=True)


def test_a_fresh_copy_with_an_empty_home_starts_and_completes_a_submission(newcomer):
    clone, home, env = newcomer
    assert not (home / ".m2").exists() and not (clone / ".env").exists() and not (clone / "data").exists()

    started = subprocess.run(["./deploy.sh", "start"], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    output = started.stdout + started.stderr
    assert started.returncode == 0, output[-6000:]
    # It said what it was doing while it downloaded, each installer with its own progress lines.
    for line in (
        "==> created .env from .env.example",
        "==> installing Apache Kafka",
        "jars downloaded into ~/.m2",
        "==> installing Python packages",
        "collecting django==",
        "==> installing npm packages in deploy/smtp",
        "==> building the frontend (vite)",
        "==> all services healthy",
    ):
        assert line in output, f"{line!r} missing from:\n{output[-6000:]}"
    # Maven filled this HOME's repository, not the account's own (Java's user.home is not $HOME).
    assert any((home / ".m2" / "repository" / "org" / "apache" / "kafka").rglob("kafka_2.13-*.jar"))
    assert (clone / "data" / "db.sqlite3").is_file()

    api = f"http://127.0.0.1:{env['API_PORT']}"
    body = {"name": "Newcomer", "email": "newcomer@example.org", "message": "first run"}
    created = requests.post(f"{api}/api/submissions/", json=body, timeout=10)
    assert created.status_code == 201, created.text
    submission = created.json()
    headers = {"Authorization": f"Bearer {submission['access_token']}"}

    def status() -> str:
        return requests.get(submission["status_url"], headers=headers, timeout=5).json()["status"]

    wait_until(lambda: status() == "COMPLETED", timeout=120, what="the first submission to complete")

    stopped = subprocess.run(["./deploy.sh", "stop"], cwd=clone, env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not port_open(int(env["API_PORT"]))
