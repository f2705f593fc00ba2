"""No secret in any log line, after a whole run as people use the stack: a submission, its detail and
its live stream with the access token, an admin login with a password and a session, and the workers
calling the CRM with its token. Every process's log is then read for each secret the run used."""

import os
import re
import subprocess

import pytest
import requests

from tests.conftest import final_state, submit
from tests.servers import BIN, REPO, stream_url

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]

PASSWORD = "Corr3ct-horse-battery-staple-9"


def admin_login(stack) -> requests.Session:
    """A staff user created for this test, signed in through the admin's own form."""
    env = {**stack.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
    made = subprocess.run(
        [
            str(BIN / "python"),
            "manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            "logs-admin",
            "--email",
            "logs-admin@example.org",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0 or "already taken" in made.stderr, made.stderr  # taken: this test ran before
    browser = requests.Session()
    form = browser.get(f"{stack.api}/admin/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    signed_in = browser.post(
        f"{stack.api}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": csrf, "username": "logs-admin", "password": PASSWORD, "next": "/admin/"},
        headers={"Referer": f"{stack.api}/admin/login/"},
        timeout=10,
    )
    assert signed_in.status_code == 200 and "sessionid" in browser.cookies, signed_in.status_code
    return browser


def test_no_process_logs_a_token_a_password_or_a_session(stack):
    created = submit(stack, email="secrets@example.org")
    token = created["access_token"]
    detail = requests.get(created["status_url"], headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert detail.status_code == 200
    assert (
        requests.get(created["status_url"], headers={"Authorization": "Bearer wrong-" + token}, timeout=10).status_code
        == 403
    )
    with requests.get(stream_url(stack, created["id"]), stream=True, timeout=60) as live:
        assert live.status_code == 200
        assert any('"COMPLETED"' in line for line in live.iter_lines(decode_unicode=True) if line)
    refused = requests.get(stream_url(stack, created["id"]).replace(token, "forged-" + token), timeout=10)
    assert refused.status_code == 403
    final_state(stack, created["id"])
    browser = admin_login(stack)
    assert browser.get(f"{stack.api}/admin/console/", timeout=30).status_code == 200
    session, csrf = browser.cookies["sessionid"], browser.cookies["csrftoken"]

    secrets = {
        "access token": token,
        "admin password": PASSWORD,
        "session id": session,
        "CSRF token": csrf,
        "CRM token": stack.env["CRM_API_TOKEN"],
        "Redis password": stack.env["REDIS_PASSWORD"],
        "Kafka password": stack.env["KAFKA_SASL_PASSWORD"],
    }
    logs = {path.name: path.read_text(errors="replace") for path in stack.procs.log_dir.glob("*.log")}
    assert {"api.log", "stream.log", "mailer.log", "workflow-agent.log", "crm.log", "kafka.log"} <= set(logs)
    found = [
        f"{what} in {name}: {line[:300]}"
        for name, text in logs.items()
        for line in text.splitlines()
        for what, value in secrets.items()
        if value in line
    ]
    assert found == []
    assert os.path.getsize(stack.procs.log_dir / "stream.log") > 0
