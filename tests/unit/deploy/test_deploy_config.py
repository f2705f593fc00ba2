"""One configuration, read one way: backend/config/envfile.py reads `.env` as django-environ does, for
deploy.sh (its `export` lines, evaluated by bash) and for config/env.py alike, with every default and
the addresses derived from the ports in one place."""

import ast
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import environ
import pytest

from bridge.config import BridgeConfig
from config import envfile
from tests.servers import REPO

READER = REPO / "backend" / "config" / "envfile.py"
SETTINGS_MODULES = sorted((REPO / "backend" / "config" / "settings").glob("*.py"))
# Literal defaults in the settings modules that are not settings of .env.
NOT_IN_THE_READER = {
    "CRM_API_TOKEN": "a secret: deploy.sh generates it into .env",
    "METRICS_REPLICA": "per process: supervisord.conf sets it on a scaled process's command line",
    "BUNDLED_PROXY_HOPS": "Compose sets it on the services behind its nginx; no .env setting",
}

# Lines django-environ reads, skips or reads in its own way; both readers must agree on each.
TRICKY = r"""# a comment
export EXPORTED=1
export  TWO_SPACES=2
DOUBLE="a b"
SINGLE='single "inner"'
ESCAPES="quote \" newline \n tab \t backslash \\ other \q"
HASH=a # not a comment
  INDENTED=1
SPACED = 1
1DIGIT=first
BOTH='"x"'
INNER="'y'"
EMPTY=
EQUALS=='eq'
REPEATED=first
REPEATED=last
UNTERMINATED="open
MIXED='x'y'
DOLLAR_INSIDE=pa$$word`cmd`
UNICODE=café ☕
"""


def read_env_as_django_environ(text: str) -> dict[str, str]:
    """What django-environ's Env.read_env puts into the environment for `text` (a fresh one)."""

    class Probe(environ.Env):
        ENVIRON: dict[str, str] = {}

    Probe.read_env(io.StringIO(text))
    return Probe.ENVIRON


def clean_env(**extra: str) -> dict[str, str]:
    """An environment that holds none of the settings: only what runs a program, and `extra`."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{name: os.environ[name] for name in keep if name in os.environ}, **extra}


def resolved_by_deploy_sh(env_file: Path, names: list[str], **environment: str) -> dict[str, str]:
    """The values deploy.sh's load_env gets: the system's python3 runs the reader and bash evaluates its lines."""
    script = 'eval "$(python3 "$1" export --env-file "$2")"; shift 2; for name; do printf "%s=%s\\0" "$name" "${!name-}"; done'
    result = subprocess.run(
        ["bash", "-c", script, "deploy.sh", str(READER), str(env_file), *names],
        env=clean_env(**environment),
        capture_output=True,
        timeout=30,
        check=True,
    )
    pairs = (item.split("=", 1) for item in result.stdout.decode().split("\0") if item)
    return dict(pairs)


def resolved_by_config_env(env_file: Path, names: list[str], **environment: str) -> dict[str, str]:
    """The values the Django processes get: config/env.py's `env.str`, in a process of their own."""
    code = "import json, sys; from config.env import env; print(json.dumps({n: env.str(n) for n in sys.argv[1:]}))"
    result = subprocess.run(
        [sys.executable, "-c", code, *names],
        cwd=REPO / "backend",
        env=clean_env(ENV_FILE=str(env_file), **environment),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_the_reader_parses_a_file_exactly_as_django_environ_does():
    assert envfile.parse(TRICKY) == read_env_as_django_environ(TRICKY)
    parsed = envfile.parse(TRICKY)
    assert parsed["EXPORTED"] == "1" and "TWO_SPACES" not in parsed and "INDENTED" not in parsed
    assert parsed["DOUBLE"] == "a b" and parsed["SINGLE"] == 'single "inner"' and parsed["BOTH"] == "x"
    assert parsed["HASH"] == "a # not a comment"  # no inline comments
    assert parsed["REPEATED"] == "last"


@pytest.mark.skipif(shutil.which("python3") is None, reason="deploy.sh runs the reader with the system's python3")
def test_deploy_sh_and_config_env_read_one_file_to_the_same_values(tmp_path):
    env_file = tmp_path / "settings.env"
    env_file.write_text(
        TRICKY
        + "export API_PORT=5300\n"
        + 'FRONTEND_PORT="3300"\n'
        + "CORS_ORIGINS=\n"
        + "SITE_NAME='Intake (staging)' # kept\n"
        + "LOG_LEVEL=\n"
    )
    names = [
        *(name for name in envfile.parse(TRICKY) if name[0].isalpha()),
        "API_PORT",
        "FRONTEND_PORT",
        "API_PUBLIC_URL",
        "STREAM_PUBLIC_URL",
        "CORS_ORIGINS",
        "CELERY_BROKER_URL",
        "SITE_NAME",
        "LOG_LEVEL",
        "KAFKA_TOPIC",
        "MAIL_LEASE_SECONDS",
    ]
    shell = resolved_by_deploy_sh(env_file, names)
    django = resolved_by_config_env(env_file, names)
    assert shell == django
    assert shell["EXPORTED"] == "1" and shell["ESCAPES"] == envfile.parse(TRICKY)["ESCAPES"]
    assert shell["DOLLAR_INSIDE"] == "pa$$word`cmd`" and shell["UNICODE"] == "café ☕"  # shell-quoted
    assert shell["API_PUBLIC_URL"] == "http://localhost:5300"
    assert shell["CORS_ORIGINS"] == "http://localhost:3300,http://127.0.0.1:3300"  # empty: derived
    assert shell["SITE_NAME"] == "'Intake (staging)' # kept"
    assert shell["LOG_LEVEL"] == "INFO"  # empty: the default


def test_a_variable_set_in_the_environment_wins_over_the_file_on_both_sides(tmp_path):
    env_file = tmp_path / "settings.env"
    env_file.write_text("API_PORT=5300\nexport FRONTEND_PORT=3300\nKAFKA_TOPIC=from-the-file\n")
    names = ["API_PORT", "API_PUBLIC_URL", "FRONTEND_PORT", "CORS_ORIGINS", "KAFKA_TOPIC"]
    environment = {"API_PORT": "6100", "CORS_ORIGINS": "https://intake.example.org"}
    shell = resolved_by_deploy_sh(env_file, names, **environment)
    assert shell == resolved_by_config_env(env_file, names, **environment)
    assert shell == {
        "API_PORT": "6100",
        "API_PUBLIC_URL": "http://localhost:6100",  # follows the port that won
        "FRONTEND_PORT": "3300",
        "CORS_ORIGINS": "https://intake.example.org",
        "KAFKA_TOPIC": "from-the-file",
    }


def test_derived_addresses_follow_their_ports_unless_set():
    settings = envfile.Settings(
        {"API_PORT": "5100", "STREAM_PORT": "5101", "FRONTEND_PORT": "3100", "REDIS_PORT": "6479", "CRM_PORT": "8101"}
    )
    assert settings["API_PUBLIC_URL"] == "http://localhost:5100"
    assert settings["STREAM_PUBLIC_URL"] == "http://localhost:5101"
    assert settings["CORS_ORIGINS"] == "http://localhost:3100,http://127.0.0.1:3100"
    assert settings["CELERY_BROKER_URL"] == "redis://127.0.0.1:6479/0"
    assert settings["CRM_API_BASE"] == "http://127.0.0.1:8101/crm/api"
    assert settings["KAFKA_CONTROLLER_PORT"] == "9093"
    assert envfile.Settings({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9192,other:9092"})["KAFKA_CONTROLLER_PORT"] == "9193"


def test_the_broker_url_carries_redis_password_quoted():
    settings = envfile.Settings({"REDIS_PORT": "6479", "REDIS_PASSWORD": "a/b@c:d"})
    assert settings["CELERY_BROKER_URL"] == "redis://:a%2Fb%40c%3Ad@127.0.0.1:6479/0"
    assert envfile.Settings({"API_PORT": "5100", "API_PUBLIC_URL": "https://api.example.org"})["API_PUBLIC_URL"] == (
        "https://api.example.org"
    )
    assert envfile.Settings({"API_PORT": "5100", "API_PUBLIC_URL": ""})["API_PUBLIC_URL"] == "http://localhost:5100"
    with pytest.raises(KeyError):
        envfile.Settings({})["NOT_A_SETTING"]


def test_config_env_derives_without_writing_into_the_environment_that_children_inherit(tmp_path):
    code = (
        "import json, os; from config.env import env; "
        "print(json.dumps([env.str('CORS_ORIGINS'), 'CORS_ORIGINS' in os.environ, os.environ.get('FROM_FILE')]))"
    )
    env_file = tmp_path / "settings.env"
    env_file.write_text("FROM_FILE=yes\n")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO / "backend",
        env=clean_env(ENV_FILE=str(env_file), FRONTEND_PORT="3900"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # The file's own settings reach os.environ (as read_env's did); derived values stay in the view.
    assert json.loads(result.stdout) == ["http://localhost:3900,http://127.0.0.1:3900", False, "yes"]


def test_the_export_warns_about_lines_it_ignores_and_leaves_deploy_sh_s_own_variables_alone(tmp_path):
    env_file = tmp_path / "settings.env"
    env_file.write_text("# fine\n\nAPI_PORT = 5300\nDEPLOY_MODE=compose\nRUN_DIR=/elsewhere\n1ABC=x\nSITE_NAME=x\n")
    result = subprocess.run(
        [sys.executable, str(READER), "export", "--env-file", str(env_file)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "line 3: not NAME=value" in result.stderr
    assert "line 4: DEPLOY_MODE is read from the environment only" in result.stderr
    assert "1ABC is not a shell variable name" in result.stderr
    assert "line 1" not in result.stderr and "line 2" not in result.stderr
    exported = {line.split("=", 1)[0].removeprefix("export ") for line in result.stdout.splitlines()}
    assert {"SITE_NAME", "API_PORT", "API_PUBLIC_URL"} <= exported
    assert not exported & {"DEPLOY_MODE", "RUN_DIR", "1ABC"}


def literal_defaults():
    """(module, env method, NAME, default) for each `env.METHOD("NAME", default=<constant>)` of the settings."""
    for path in SETTINGS_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            is_env_call = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "env"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            )
            default = next((k.value for k in node.keywords if k.arg == "default"), None) if is_env_call else None
            if default is None:
                continue
            try:  # constant expressions only (256 * 1024); a default computed from another setting is skipped
                value = eval(compile(ast.Expression(default), str(path), "eval"), {"__builtins__": {}})  # noqa: S307
            except NameError:
                continue
            yield path.name, node.func.attr, node.args[0].value, value


def test_every_default_of_the_settings_modules_is_the_readers():
    settings = envfile.Settings({})
    checked = set()
    for module, method, name, default in literal_defaults():
        if name in NOT_IN_THE_READER:
            continue
        assert name in envfile.DEFAULTS or name in envfile.DERIVED, f"{module}: {name} has no default in envfile.py"
        probe = environ.Env()
        probe.ENVIRON = {name: settings[name]}
        assert getattr(probe, method)(name, default=default) == default, f"{module}: {name}"
        checked.add(name)
    assert {"API_PORT", "CORS_ORIGINS", "CELERY_BROKER_URL", "KAFKA_TOPIC", "TASK_MAX_RETRIES"} <= checked


def test_the_bridges_defaults_are_the_readers():
    names = {
        "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
        "topic": "KAFKA_TOPIC",
        "num_partitions": "KAFKA_NUM_PARTITIONS",
        "group_id": "KAFKA_CONSUMER_GROUP",
        "group_instance_id": "KAFKA_GROUP_INSTANCE_ID",
        "session_timeout_ms": "KAFKA_SESSION_TIMEOUT_MS",
        "max_poll_records": "KAFKA_CONSUMER_MAX_POLL_RECORDS",
        "celery_broker_url": "CELERY_BROKER_URL",
        "redis_url": "CELERY_BROKER_URL",  # REDIS_URL empty: the broker's
        "dedupe_ttl_seconds": "BRIDGE_DEDUPE_TTL_SECONDS",
    }
    settings = envfile.Settings({})
    for field in fields(BridgeConfig):
        if field.name in names:
            assert str(field.default) == settings[names[field.name]], field.name


def test_env_example_states_the_readers_defaults():
    example = envfile.parse((REPO / ".env.example").read_text())
    settings = envfile.Settings(example)
    for name, value in example.items():
        if name in envfile.DERIVED:
            # Empty follows the ports; a value written out must be what they give.
            assert value in ("", envfile.DERIVED[name](settings)), name
        elif name in envfile.DEFAULTS:
            assert value == envfile.DEFAULTS[name], name


def test_the_configuration_reference_names_every_setting_with_the_readers_default():
    rows = re.findall(
        r"^\| ([^|]*`[A-Z][A-Z0-9_]+`[^|]*) \| ([^|]*) \|", (REPO / "docs" / "configuration.md").read_text(), re.M
    )
    documented = {name: default for names, default in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", names)}
    read = set(envfile.DEFAULTS) | set(envfile.DERIVED)
    assert read - set(documented) == set(), "settings missing from docs/configuration.md"
    # Secrets without a default, and the HTTPS switches whose default follows PRODUCTION, are read too.
    code = "".join(path.read_text() for folder in ("backend", "bridge") for path in (REPO / folder).rglob("*.py"))
    named_in_code = set(re.findall(r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", code))
    example = set(envfile.parse((REPO / ".env.example").read_text()))  # secrets deploy.sh and Compose read
    assert set(documented) - read - named_in_code - example == set(), "documented but never read"
    for names, default in rows:
        name, *others = re.findall(r"`([A-Z][A-Z0-9_]+)`", names)
        value = envfile.DEFAULTS.get(name)
        if not others and value and not default.strip().startswith(("generated", "empty")):
            assert value in default.replace("`", ""), (
                f"{name}: reference says {default.strip()!r}, the reader {value!r}"
            )
