"""The SMTP catcher's web API is not another web page's to read (finding 6 of "Safe by default, round
two"): maildev reflects any Origin with credentials by default; deploy/smtp/catcher.mjs turns that off."""

import os
import smtplib
from email.message import EmailMessage

import pytest
import requests

from tests.servers import MAILDEV, Processes, free_port, http_ok, wait_until

pytestmark = pytest.mark.integration

EVIL = "http://evil.example"


def test_the_catcher_grants_no_other_origin_access(stack):
    read = requests.get(f"{stack.maildev}/api/email", headers={"Origin": EVIL}, timeout=10)
    assert read.status_code == 200  # the API itself works, for callers that are not web pages
    assert "Access-Control-Allow-Origin" not in read.headers
    assert "Access-Control-Allow-Credentials" not in read.headers
    preflight = requests.options(
        f"{stack.maildev}/api/email/all",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "DELETE"},
        timeout=10,
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "DELETE" not in preflight.headers.get("Access-Control-Allow-Methods", "")


def test_the_catcher_logs_no_address_and_forgets_mail_after_its_retention(tmp_path):
    """Finding 9: the catcher's store was never purged, and its log named every recipient."""
    procs = Processes(tmp_path)
    smtp, web = free_port(), free_port()
    env = {**os.environ, "SMTP_CATCHER_RETENTION_HOURS": "0.001", "SMTP_CATCHER_RETENTION_CHECK_SECONDS": "1"}
    cmd = ["node", str(MAILDEV), "--smtp", str(smtp), "--ip", "127.0.0.1", "--web", str(web), "--web-ip", "127.0.0.1"]
    procs.start("catcher", [*cmd, "--mail-directory", str(tmp_path / "mail")], env)
    api = f"http://127.0.0.1:{web}/api/email"
    try:
        wait_until(lambda: http_ok(api), what="the catcher")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "site@example.org", "kept-private@example.org", "Hi"
        message.set_content("Hello")
        with smtplib.SMTP("127.0.0.1", smtp, timeout=10) as client:
            client.send_message(message)
        assert wait_until(lambda: requests.get(api, timeout=5).json(), what="the mail caught")
        # 0.001 h is 3.6 s: the next check after that deletes it, from the store and from its directory.
        wait_until(lambda: requests.get(api, timeout=5).json() == [], timeout=30, what="the mail forgotten")
        assert not list((tmp_path / "mail").glob("*.eml"))
        log = procs.log("catcher")
        assert "Received a message for 1 recipient(s)" in log and "Retention: deleted 1 message(s)" in log
        assert "kept-private" not in log
    finally:
        procs.stop_all()
