"""Production mode, the admin's login throttle and the operators' health page (findings 5 and 8)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from config.settings.security import production_refusals, secret_key_weakness

REPO = Path(__file__).resolve().parents[3]
STRONG_KEY = secrets.token_urlsafe(50)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a process of its own: settings are read once, at start-up."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PRODUCTION", "CORS_", "BENCH_"))}
    environment = {**clean, "ENV_FILE": "/dev/null", "DJANGO_SETTINGS_MODULE": "config.settings.base", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production_mode():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        PRODUCTION="true", DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_ALLOWED_HOSTS="intake.example",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_is_missing_outside_production_mode():
    result = manage("check", "--deploy", DJANGO_SECRET_KEY=STRONG_KEY)
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


@pytest.mark.parametrize("key", ["change-me", "short-but-random-Zx81", "django-insecure-" + "x" * 60, "a" * 60])
def test_production_refuses_to_start_with_a_weak_or_default_secret(key):
    result = manage("check", PRODUCTION="true", DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert "PRODUCTION=true refuses to start" in result.stderr and "DJANGO_SECRET_KEY is weak" in result.stderr


def test_production_refuses_debug_an_open_cors_policy_and_the_benchmark_endpoint():
    result = manage(
        "check", PRODUCTION="true", DJANGO_SECRET_KEY=STRONG_KEY, DJANGO_DEBUG="true", CORS_ORIGINS="*",
        BENCH_BASELINE="true",
    )  # fmt: skip
    assert result.returncode != 0
    for name in ("DJANGO_DEBUG=true", "CORS_ORIGINS=*", "BENCH_BASELINE=true"):
        assert name in result.stderr


def test_the_weakness_rules():
    assert secret_key_weakness(STRONG_KEY) is None
    assert secret_key_weakness("change-me") == "it is a published placeholder"
    assert (
        production_refusals(
            debug=False, secret_key=STRONG_KEY, cors_origins=["https://a.example"], bench_baseline=False
        )
        == []
    )


# --- the admin login ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_login_is_locked_after_repeated_failures(admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="203.0.113.9")
    attempts = [
        client.post("/admin/login/?next=/admin/", {"username": "admin", "password": f"guess-{n}"}).status_code
        for n in range(4)
    ]
    assert attempts[:2] == [200, 200]  # the form again, with its error
    assert attempts[3] == 429
    # Locked: even the right password is refused now, from this address.
    right = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "password"})
    assert right.status_code == 429


@pytest.mark.django_db
def test_failures_from_elsewhere_do_not_lock_the_real_admin_out(admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(5):  # an attacker guessing the admin's password from one address
        Client(REMOTE_ADDR="203.0.113.66").post("/admin/login/", {"username": "admin", "password": f"guess-{n}"})
    assert (
        Client(REMOTE_ADDR="203.0.113.66")
        .post("/admin/login/", {"username": "admin", "password": "password"})
        .status_code
        == 429
    )
    admin = Client(REMOTE_ADDR="198.51.100.20")
    signed_in = admin.post("/admin/login/?next=/admin/", {"username": "admin", "password": "password"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_does_not_escape_the_login_lock(admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_LOCKOUT_PARAMETERS = ["ip_address"]
    codes = [
        Client(REMOTE_ADDR="203.0.113.10", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
        .post("/admin/login/", {"username": f"user{n}", "password": "x"})
        .status_code
        for n in range(3)
    ]
    assert codes[-1] == 429


# --- /health/deps ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dependency_health_is_for_staff_only(admin_client):
    anonymous = Client().get("/health/deps")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert b"127.0.0.1" not in anonymous.content
    staff = admin_client.get("/health/deps", HTTP_ACCEPT="application/json")
    assert "Database(alias='default')" in staff.json()  # the report itself (its status is the stack's)
