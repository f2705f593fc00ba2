"""docker-compose.yml, read as data (no Docker engine needed): what is published, where settings
come from, and which SMTP catcher runs. Values are the file's own text, before Compose interpolates."""

import json
import re

import pytest
import yaml

from tests.servers import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
BACKEND = sorted(
    name for name, svc in SERVICES.items() if svc.get("build", {}).get("dockerfile") == "deploy/Dockerfile.backend"
)
# Reached only inside the network: the browser gets to the API and the stream through nginx.
INTERNAL_ONLY = ("kafka", "redis", "postgres", "crm", "api", "stream")
SECRETS = {
    "DJANGO_SECRET_KEY": BACKEND,
    "CRM_API_TOKEN": BACKEND,
    "FLOWER_BASIC_AUTH": ["flower"],
    "MAILDEV_WEB_USER": ["smtp"],
    "MAILDEV_WEB_PASS": ["smtp"],
}
PUBLIC_URL = "${PUBLIC_URL:-http://localhost:3000}"


def published(service: str) -> list[str]:
    return [str(port) for port in SERVICES[service].get("ports", [])]


def environment(service: str) -> dict[str, str]:
    return {name: str(value) for name, value in SERVICES[service].get("environment", {}).items()}


def test_every_service_of_our_image_is_found():
    expected = {
        "migrate",
        "api",
        "stream",
        "crm",
        "mailer",
        "workflow-agent",
        "relay",
        "reconciler",
        "bridge",
        "flower",
    }
    assert set(BACKEND) == expected


def test_only_the_frontend_is_published_beyond_loopback_on_a_configurable_address():
    assert published("frontend") == ["${PUBLIC_BIND_ADDRESS:-127.0.0.1}:${FRONTEND_PORT:-3000}:3000"]
    others = {name: published(name) for name in SERVICES if name != "frontend"}
    assert {name: ports for name, ports in others.items() if ports} == {
        "flower": ["127.0.0.1:${FLOWER_PORT:-5555}:5555"],
        "smtp": ["127.0.0.1:${MAILDEV_WEB_PORT:-1080}:1080"],
    }


@pytest.mark.parametrize("service", INTERNAL_ONLY)
def test_backing_services_and_the_apps_behind_nginx_publish_nothing(service):
    assert "ports" not in SERVICES[service]


def test_kafka_listens_and_advertises_inside_the_network_only():
    env = environment("kafka")
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "INTERNAL://kafka:29092"
    assert env["KAFKA_LISTENERS"] == "INTERNAL://:29092,CONTROLLER://:9093"


@pytest.mark.parametrize("service", BACKEND)
def test_env_reaches_every_container_of_our_image_and_a_missing_one_breaks_nothing(service):
    assert SERVICES[service]["env_file"] == [{"path": "${ENV_FILE:-.env}", "required": False}]


@pytest.mark.parametrize("service", BACKEND)
def test_in_network_addresses_win_over_the_loopback_ones_of_local_mode(service):
    # .env (through env_file) holds local mode's 127.0.0.1 addresses; environment: wins over it.
    env = environment(service)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
    assert env["CELERY_BROKER_URL"] == env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["SMTP_HOST"] == "smtp" and env["SMTP_PORT"] == "1025"
    assert env["CRM_API_BASE"] == "http://crm:8001/crm/api"
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]


def test_third_party_processes_get_the_settings_they_use_and_not_the_secrets_of_env():
    for service in ("smtp", "frontend"):
        assert "env_file" not in SERVICES[service]
    assert environment("frontend") == {
        "API_PUBLIC_URL": PUBLIC_URL,
        "STREAM_PUBLIC_URL": PUBLIC_URL,
        "DEMO_CONTROLS": "${DEMO_CONTROLS:-false}",
    }
    assert set(environment("smtp")) == {"MAILDEV_WEB_USER", "MAILDEV_WEB_PASS"}


@pytest.mark.parametrize("service", [name for name in SERVICES if name != "migrate"])
def test_every_long_running_service_has_a_healthcheck(service):
    assert SERVICES[service]["healthcheck"]["test"]


def test_migrate_is_a_one_shot_that_the_others_wait_for():
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["api"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize(("name", "services"), SECRETS.items())
def test_secrets_have_no_default_and_stop_compose_when_missing(name, services):
    for service in services:
        assert environment(service)[name].startswith(f"${{{name}:?"), service


def test_flower_asks_for_a_password_and_never_opens_its_api():
    assert "FLOWER_BASIC_AUTH" in environment("flower")
    assert "FLOWER_UNAUTHENTICATED_API" not in (REPO / "docker-compose.yml").read_text()


@pytest.mark.parametrize("service", BACKEND)
def test_hosts_origins_and_switches_come_from_env_with_safe_defaults(service):
    env = environment(service)
    assert env["DJANGO_ALLOWED_HOSTS"] == "${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1},api,stream,crm"
    assert env["DEMO_CONTROLS"] == "${DEMO_CONTROLS:-false}"
    assert env["PRODUCTION"] == "${PRODUCTION:-false}"
    assert env["PUBLIC_URL"] == PUBLIC_URL
    assert env["CORS_ORIGINS"] == PUBLIC_URL
    assert env["CSRF_TRUSTED_ORIGINS"] == "${CSRF_TRUSTED_ORIGINS:-" + PUBLIC_URL + "}"


def test_only_the_services_behind_nginx_trust_one_proxy():
    trusting = {name: environment(name).get("TRUSTED_PROXIES") for name in BACKEND}
    assert {name: value for name, value in trusting.items() if value} == {"api": "1", "stream": "1"}


def test_our_image_runs_as_its_non_root_user_without_capabilities():
    dockerfile = (REPO / "deploy" / "Dockerfile.backend").read_text()
    assert re.findall(r"^USER (\S+)", dockerfile, re.M)[-1] == "app"
    for service in BACKEND:
        assert "user" not in SERVICES[service]
        assert SERVICES[service]["cap_drop"] == ["ALL"]


def test_the_smtp_catcher_is_built_from_local_mode_s_lock_as_a_non_root_user():
    assert SERVICES["smtp"]["build"]["dockerfile"] == "deploy/Dockerfile.smtp"
    assert "image" not in SERVICES["smtp"] or not SERVICES["smtp"]["image"].startswith("maildev/")
    dockerfile = (REPO / "deploy" / "Dockerfile.smtp").read_text()
    assert "COPY deploy/smtp/package.json deploy/smtp/package-lock.json ./" in dockerfile
    assert re.search(r"^RUN npm ci --omit=dev\b", dockerfile, re.M)
    assert re.findall(r"^USER (\S+)", dockerfile, re.M)[-1] == "node"
    command = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1))
    assert command[:2] == ["node", "node_modules/.bin/maildev"]
    assert command[command.index("--smtp") + 1] == "1025" and command[command.index("--web") + 1] == "1080"


def test_local_mode_and_compose_run_maildev_3_from_one_lock():
    package = json.loads((REPO / "deploy" / "smtp" / "package.json").read_text())
    lock = json.loads((REPO / "deploy" / "smtp" / "package-lock.json").read_text())
    assert package["dependencies"]["maildev"].split(".")[0] == "3"
    assert lock["packages"]["node_modules/maildev"]["version"] == package["dependencies"]["maildev"]


def test_the_catcher_s_command_line_flags_are_maildev_s():
    options = REPO / "deploy" / "smtp" / "node_modules" / "maildev" / "dist" / "options.js"
    if not options.is_file():
        pytest.skip("the npm SMTP catcher is not installed (./deploy.sh build installs it)")
    known = set(re.findall(r"--[a-z-]+", options.read_text()))
    command = json.loads(re.search(r"^CMD (.+)$", (REPO / "deploy" / "Dockerfile.smtp").read_text(), re.M).group(1))
    assert {arg for arg in command if arg.startswith("--")} <= known
