"""The SMTP catcher's web API is not another web page's to read (finding 6 of "Safe by default, round
two"): maildev reflects any Origin with credentials by default; deploy/smtp/catcher.mjs turns that off."""

import pytest
import requests

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
