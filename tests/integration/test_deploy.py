"""./deploy.sh as a user runs it, on free ports and in a temporary run directory."""

import os
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from tests.servers import REPO, free_port, port_open, wait_until

pytestmark = pytest.mark.integration

PORT_VARS = ("API_PORT", "REDIS_PORT", "SMTP_PORT", "MAILDEV_WEB_PORT", "CRM_PORT", "FLOWER_PORT", "FRONTEND_PORT")


@pytest.fixture
def deploy_env():
    tmp = Path(tempfile.mkdtemp(prefix="intake-deploy-"))
    ports = {name: free_port() for name in PORT_VARS}
    kafka = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "KAFKA_", "CRM_"))}
    env = {
        **inherited,
        **{name: str(port) for name, port in ports.items()},
        "ENV_FILE": "/dev/null",
        "DEPLOY_MODE": "local",
        "RUN_DIR": str(tmp / "run"),
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": "deploy-test",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka}",
        "API_PUBLIC_URL": f"http://127.0.0.1:{ports['API_PORT']}",
        "WORKER_CONCURRENCY": "4",
        "API_WORKERS": "1",
    }
    yield env
    subprocess.run(["./deploy.sh", "stop"], cwd=REPO, env=env, capture_output=True, timeout=120)


def deploy(env, *args, timeout=300):
    return subprocess.run(["./deploy.sh", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


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
    rows = {line.split()[0]: line.split()[1:] for line in status.stdout.splitlines()[1:]}
    assert set(rows) == {"kafka", "redis", "smtp", "crm", "api", "worker", "relay", "bridge", "flower", "frontend"}
    assert all(row[0] == "RUNNING" and row[1] == "ok" for row in rows.values()), status.stdout

    api = f"http://127.0.0.1:{deploy_env['API_PORT']}"
    created = requests.post(
        f"{api}/api/submissions/", json={"name": "Deploy", "email": "deploy@example.org", "message": "hi"}, timeout=10
    ).json()
    done = wait_until(
        lambda: requests.get(created["status_url"], timeout=5).json()["status"] == "COMPLETED",
        timeout=60,
        what="the submission to complete",
    )
    assert done

    stopped = deploy(deploy_env, "stop")
    assert stopped.returncode == 0
    assert deploy(deploy_env, "status").stdout.strip() == "not running"
    assert not port_open(int(deploy_env["API_PORT"]))


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
    for command in ("start", "stop", "restart", "status", "logs", "restart-service", "build", "cleanup", "test"):
        assert f"\n  {command}" in result.stdout
