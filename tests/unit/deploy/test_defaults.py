"""Every default once: the table in common.defaults is what the settings modules, the bridge, the
health checks, the CLI, `.env.example` and docs/configuration.md say, and nothing else states one."""

import ast
import json
import os
import re
import subprocess
import sys

import environ
import pytest

from bridge.config import BridgeConfig
from common.defaults import DEFAULTS, DERIVED, Settings, kafka_cluster_bootstrap, kafka_nodes
from tests.servers import REPO

SETTINGS_MODULES = sorted((REPO / "backend" / "config" / "settings").glob("*.py"))
TABLE = set(DEFAULTS) | set(DERIVED)


def read_file(path) -> dict[str, str]:
    """A settings file as django-environ reads it (into an environment of its own)."""

    class FileOnly(environ.Env):
        ENVIRON: dict[str, str] = {}

    FileOnly.read_env(str(path))
    return dict(FileOnly.ENVIRON)


def clean_env(**extra: str) -> dict[str, str]:
    """An environment that holds none of the settings: only what runs a program, and `extra`."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "SYSTEMROOT") if name in os.environ}
    return {**keep, **extra}


def env_calls():
    """(module, NAME, has a default=) for each `env.METHOD("NAME", ...)` of the settings modules."""
    for path in SETTINGS_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "env"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                yield path.name, node.args[0].value, any(k.arg == "default" for k in node.keywords)


def test_the_settings_modules_read_only_table_names_and_state_no_default_of_their_own():
    calls = list(env_calls())
    assert len(calls) > 60
    for module, name, has_default in calls:
        assert name in TABLE, f"{module}: {name} is not in common.defaults"
        assert not has_default, f"{module}: {name} states a default; the table has it"


def test_the_settings_modules_get_the_table_s_values(tmp_path):
    names = ["API_PORT", "CORS_ORIGINS", "CELERY_BROKER_URL", "TASK_MAX_RETRIES", "SECURE_HSTS_SECONDS"]
    code = (
        "import json, sys, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({n: getattr(settings, n) for n in sys.argv[1:]}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *names],
        cwd=REPO / "backend",
        env=clean_env(ENV_FILE="/dev/null", DJANGO_SETTINGS_MODULE="config.settings.base", DJANGO_SECRET_KEY="x" * 50),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "API_PORT": int(DEFAULTS["API_PORT"]),
        "CORS_ORIGINS": DERIVED["CORS_ORIGINS"](Settings({})).split(","),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "TASK_MAX_RETRIES": int(DEFAULTS["TASK_MAX_RETRIES"]),
        "SECURE_HSTS_SECONDS": 0,  # PRODUCTION off
    }


def test_a_variable_set_in_the_environment_wins_over_the_file_and_derived_values_follow_it(tmp_path):
    env_file = tmp_path / "settings.env"
    env_file.write_text("API_PORT=5300\nexport FRONTEND_PORT=3300\nKAFKA_TOPIC=from-the-file\nFROM_FILE=yes\n")
    names = ["API_PORT", "API_PUBLIC_URL", "FRONTEND_PORT", "CORS_ORIGINS", "KAFKA_TOPIC"]
    code = (
        "import json, os, sys; from config.env import env; "
        "print(json.dumps([{n: env.str(n) for n in sys.argv[1:]}, 'CORS_ORIGINS' in os.environ, "
        "os.environ.get('FROM_FILE')]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *names],
        cwd=REPO / "backend",
        env=clean_env(ENV_FILE=str(env_file), API_PORT="6100"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values, derived_in_environ, from_file = json.loads(result.stdout)
    assert values == {
        "API_PORT": "6100",
        "API_PUBLIC_URL": "http://localhost:6100",  # follows the port that won
        "FRONTEND_PORT": "3300",
        "CORS_ORIGINS": "http://localhost:3300,http://127.0.0.1:3300",
        "KAFKA_TOPIC": "from-the-file",
    }
    # The file's own settings reach os.environ (read_env); derived values stay in the view, so a child
    # process given other ports derives its own.
    assert (derived_in_environ, from_file) == (False, "yes")


def test_derived_addresses_follow_their_ports_unless_set():
    settings = Settings(
        {"API_PORT": "5100", "STREAM_PORT": "5101", "FRONTEND_PORT": "3100", "REDIS_PORT": "6479", "CRM_PORT": "8101"}
    )
    assert settings["API_PUBLIC_URL"] == "http://localhost:5100"
    assert settings["STREAM_PUBLIC_URL"] == "http://localhost:5101"
    assert settings["CORS_ORIGINS"] == "http://localhost:3100,http://127.0.0.1:3100"
    assert settings["CELERY_BROKER_URL"] == "redis://127.0.0.1:6479/0"
    assert settings["CRM_API_BASE"] == "http://127.0.0.1:8101/crm/api"
    assert settings["KAFKA_CONTROLLER_PORT"] == "9093"
    assert Settings({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9192,other:9092"})["KAFKA_CONTROLLER_PORT"] == "9193"
    assert Settings({"PRODUCTION": "yes"})["DJANGO_SECURE_HSTS_SECONDS"] == "31536000"
    assert (
        Settings({"PRODUCTION": "yes", "DJANGO_SECURE_SSL_REDIRECT": "false"})["DJANGO_SECURE_SSL_REDIRECT"] == "false"
    )


def test_the_broker_url_carries_redis_password_quoted():
    settings = Settings({"REDIS_PORT": "6479", "REDIS_PASSWORD": "a/b@c:d"})
    assert settings["CELERY_BROKER_URL"] == "redis://:a%2Fb%40c%3Ad@127.0.0.1:6479/0"
    assert Settings({"API_PORT": "5100", "API_PUBLIC_URL": "https://api.example.org"})["API_PUBLIC_URL"] == (
        "https://api.example.org"
    )
    assert Settings({"API_PORT": "5100", "API_PUBLIC_URL": ""})["API_PUBLIC_URL"] == "http://localhost:5100"
    with pytest.raises(KeyError):
        Settings({})["NOT_A_SETTING"]


def test_the_bridge_takes_the_table_s_defaults(monkeypatch):
    for name in TABLE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    config = BridgeConfig.from_env()
    settings = Settings({})
    assert config.bootstrap_servers == settings["KAFKA_BOOTSTRAP_SERVERS"]
    assert (config.topic, str(config.num_partitions)) == (settings["KAFKA_TOPIC"], settings["KAFKA_NUM_PARTITIONS"])
    assert config.group_id == settings["KAFKA_CONSUMER_GROUP"]
    assert str(config.session_timeout_ms) == settings["KAFKA_SESSION_TIMEOUT_MS"]
    assert str(config.max_poll_records) == settings["KAFKA_CONSUMER_MAX_POLL_RECORDS"]
    assert config.celery_broker_url == config.redis_url == settings["CELERY_BROKER_URL"]
    assert str(config.dedupe_ttl_seconds) == settings["BRIDGE_DEDUPE_TTL_SECONDS"]
    assert config.kafka_auth.sasl_username == settings["KAFKA_SASL_USERNAME"]
    source = (REPO / "bridge" / "config.py").read_text()
    assert "default=" not in source.replace("default=str(DEFAULT_ENV_FILE)", "")


def test_env_example_states_the_table_s_defaults():
    example = read_file(REPO / ".env.example")
    settings = Settings(example)
    assert len(example) > 40
    for name, value in example.items():
        if name in DERIVED:
            # Empty follows the ports; a value written out must be what they give.
            assert value in ("", DERIVED[name](settings)), name
        elif name in DEFAULTS:
            assert value == DEFAULTS[name], name


def test_the_configuration_reference_names_every_setting_with_the_table_s_default():
    rows = re.findall(
        r"^\| ([^|]*`[A-Z][A-Z0-9_]+`[^|]*) \| ([^|]*) \|", (REPO / "docs" / "configuration.md").read_text(), re.M
    )
    documented = {name: default for names, default in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", names)}
    assert TABLE - set(documented) == set(), "settings missing from docs/configuration.md"
    # What the CLI reads from the environment only, and the secrets it generates into .env, are
    # documented without being table rows.
    example = set(read_file(REPO / ".env.example"))
    environment_only = {"DEPLOY_MODE", "RUN_DIR", "VENV", "HEALTH_TIMEOUT", "ENV_FILE"}
    bench = {name for name in documented if name.startswith("BENCH_")}
    assert set(documented) - TABLE - example - environment_only - bench == set(), "documented but never read"
    for names, default in rows:
        name, *others = re.findall(r"`([A-Z][A-Z0-9_]+)`", names)
        value = DEFAULTS.get(name)
        if not others and value and not default.strip().startswith(("generated", "empty")):
            assert value in default.replace("`", ""), f"{name}: reference says {default.strip()!r}, the table {value!r}"


def test_a_default_compose_states_for_a_setting_is_the_table_s():
    """Compose interpolates `${NAME:-value}` before any container runs (ports, published
    addresses): where it must state a default, it states the table's."""
    text = (REPO / "docker-compose.yml").read_text()
    stated = re.findall(r"\$\{([A-Z][A-Z0-9_]*):-([^}$]*)\}", text)
    table = Settings({})
    checked = 0
    for name, value in stated:
        if name in TABLE:
            assert value == table[name], f"docker-compose.yml: ${{{name}:-{value}}}, the table says {table[name]!r}"
            checked += 1
    assert checked >= 10


def test_a_local_cluster_derives_its_nodes_replication_and_the_clients_bootstrap_list():
    one = Settings({})
    assert (one["KAFKA_REPLICATION_FACTOR"], one["KAFKA_MIN_INSYNC_REPLICAS"]) == ("1", "1")
    three = Settings({"KAFKA_BROKERS": "3", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"})
    assert (three["KAFKA_REPLICATION_FACTOR"], three["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    assert kafka_nodes(three) == [("127.0.0.1", 9092, 9093), ("127.0.0.1", 9094, 9095), ("127.0.0.1", 9096, 9097)]
    assert kafka_cluster_bootstrap(three) == "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096"
