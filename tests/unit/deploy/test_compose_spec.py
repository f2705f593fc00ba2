"""docker-compose.yml against the Compose Specification, and what every service must have.

No Docker engine runs on this machine (nor in CI), so `docker compose config` cannot check the file:
this is the check. The file is interpolated the way Compose does it (${VAR}, ${VAR:-default},
${VAR-default}, ${VAR:?message}, ${VAR:+other}, $$ for a literal $), with the defaults it names and a
placeholder for each required variable, then validated with the `jsonschema` package against the
specification's own schema (compose-spec.json here, vendored from compose-spec/compose-go; see
compose-spec.LICENSE). Then each service is checked for a health check, a non-root user and settings
documented in .env.example.
"""

import json
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.servers import REPO

HERE = Path(__file__).parent
SCHEMA = json.loads((HERE / "compose-spec.json").read_text())
RAW = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = RAW["services"]
NAME = r"[A-Za-z_][A-Za-z0-9_]*"

# Variables Compose reads that are not settings of .env: ENV_FILE names the settings file itself
# (deploy.sh passes it as --env-file, and it must be known before that file is read).
NOT_IN_ENV_FILE = {"ENV_FILE": "the path of the settings file, set in the environment of ./deploy.sh"}

# Who runs each service. Images we build name their user in their Dockerfile (its last USER);
# Compose sets none over it. Images we pull get `user:` in docker-compose.yml, even where the image
# already switches to that user, so that no service starts as root and the file says who runs it.
BUILT_AS = {
    "deploy/Dockerfile.backend": "app",
    "deploy/Dockerfile.smtp": "node",
    "deploy/Dockerfile.frontend": "101",  # nginx-unprivileged: no root master process
}
PULLED_AS = {
    "kafka": "appuser",  # the image's USER
    "redis": "redis",  # the official image would start as root to chown /data, then drop to redis
    "postgres": "postgres",  # likewise; its entrypoint supports starting as postgres
    "kafka-ui": "kafkaui",  # the image's USER
    "prometheus": "nobody",  # the image's USER
    "grafana": "472",  # the image's USER (grafana)
}
# Services allowed to run as root, with the reason. None: every service above has a non-root user.
ROOT_EXCEPTIONS: dict[str, str] = {}
ROOT = {"root", "0"}

# Go durations, as Compose parses healthcheck times (time.ParseDuration).
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


class Interpolation:
    """Compose's interpolation of ${...} in values, with the variables it looked up."""

    def __init__(self, env: dict[str, str], placeholder: Callable[[str], str]):
        self.env, self.placeholder = env, placeholder
        self.used: set[str] = set()
        self.required: set[str] = set()

    def text(self, text: str) -> str:
        out, i = [], 0
        while i < len(text):
            if text[i] != "$":
                out.append(text[i])
                i += 1
            elif text.startswith("$$", i):
                out.append("$")
                i += 2
            elif text.startswith("${", i):
                end = self._closing_brace(text, i + 2)
                out.append(self._braced(text[i + 2 : end]))
                i = end + 1
            elif match := re.match(NAME, text[i + 1 :]):
                out.append(self._lookup(match.group()) or "")
                i += 1 + match.end()
            else:
                raise ValueError(f"invalid interpolation format in {text!r}")
        return "".join(out)

    def value(self, value):
        """Every string in a mapping or a list (keys stay as written, as in Compose)."""
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return self.text(value) if isinstance(value, str) else value

    @staticmethod
    def _closing_brace(text: str, start: int) -> int:
        depth, i = 1, start
        while i < len(text):
            if text.startswith("${", i):
                depth, i = depth + 1, i + 2
                continue
            if text[i] == "}":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        raise ValueError(f"unclosed ${{ in {text!r}")

    def _lookup(self, name: str) -> str | None:
        self.used.add(name)
        return self.env.get(name)

    def _braced(self, body: str) -> str:
        match = re.fullmatch(rf"({NAME})(?:(:?[-?+])(.*))?", body, re.S)
        if not match:
            raise ValueError(f"invalid interpolation format: ${{{body}}}")
        name, operator, argument = match.groups()
        value = self._lookup(name)
        if operator is None:
            return value or ""
        present = bool(value) if operator.startswith(":") else value is not None
        if operator.endswith("-"):
            return value if present else self.text(argument)
        if operator.endswith("+"):
            return self.text(argument) if present else ""
        if not present:
            self.required.add(name)
            return self.placeholder(name)
        return value


def env_example() -> dict[str, str]:
    """.env.example's settings (uncommented ones), as Compose's --env-file would read them."""
    values = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if match := re.match(rf"^({NAME})=(.*)$", line):
            values[match.group(1)] = match.group(2)
    return values


def documented() -> set[str]:
    """Names .env.example documents: `NAME=` lines and commented `# NAME=` ones."""
    text = (REPO / ".env.example").read_text()
    return set(re.findall(rf"^#?\s*({NAME})=", text, re.M))


def placeholder(name: str) -> str:
    return f"placeholder-{name.lower().replace('_', '-')}"


def interpolated(env: dict[str, str]) -> tuple[dict, Interpolation]:
    interpolation = Interpolation(env, placeholder)
    return interpolation.value(RAW), interpolation


def used_variables() -> set[str]:
    return interpolated({})[1].used


def validation_errors(document: dict) -> list[str]:
    validator_class = jsonschema.validators.validator_for(SCHEMA)
    validator = validator_class(SCHEMA)
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda error: list(map(str, error.path)))
    ]


def test_the_vendored_schema_is_a_valid_schema_with_its_license_beside_it():
    jsonschema.validators.validator_for(SCHEMA).check_schema(SCHEMA)
    assert SCHEMA["title"] == "Compose Specification"
    license_note = (HERE / "compose-spec.LICENSE").read_text()
    assert "https://github.com/compose-spec/compose-go" in license_note
    assert "Apache License" in license_note and "Version 2.0" in license_note
    assert "Copyright 2020 The Compose Specification Authors" in license_note


@pytest.mark.parametrize("source", ["defaults", ".env.example"])
def test_the_interpolated_file_follows_the_compose_specification(source):
    document, _ = interpolated({} if source == "defaults" else env_example())
    assert validation_errors(document) == []


def test_the_schema_check_would_catch_a_mistake():
    document, _ = interpolated({})
    document["services"]["api"]["helthcheck"] = document["services"]["api"].pop("healthcheck")
    document["services"]["kafka-ui"]["depends_on"]["kafka"]["condition"] = "healthy"
    errors = validation_errors(document)
    assert any("services.api" in error and "helthcheck" in error for error in errors), errors
    assert any(error.startswith("services.kafka-ui.depends_on") for error in errors), errors


def test_the_interpolation_does_what_compose_does():
    interpolation = Interpolation({"SET": "v", "EMPTY": ""}, placeholder)
    assert interpolation.text("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-${SET}x}") == "v d  d vx"
    assert interpolation.text("${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}|$SET|$$SET|${SET}") == "alt||alt|v|$SET|v"
    assert interpolation.text("${KAFKA_HEAP_OPTS:--Xmx256m -Xms64m}") == "-Xmx256m -Xms64m"
    assert interpolation.text("${EMPTY:?set it}/${UNSET?set it}/${EMPTY?set it}") == (
        "placeholder-empty/placeholder-unset/"
    )
    assert interpolation.required == {"EMPTY", "UNSET"}
    assert interpolation.used == {"SET", "EMPTY", "UNSET", "KAFKA_HEAP_OPTS"}


def test_every_required_setting_stops_compose_with_a_message_that_says_where_to_set_it():
    text = (REPO / "docker-compose.yml").read_text()
    for name, message in re.findall(rf"\$\{{({NAME}):\?([^}}]*)\}}", text):
        assert message.startswith(f"set {name}") and "in .env" in message, name


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_long_running_service_has_a_health_check_with_valid_times(service):
    if service == "migrate":  # a one-shot: the others wait for it to exit 0
        assert SERVICES[service]["restart"] == "no"
        return
    healthcheck = SERVICES[service]["healthcheck"]
    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL") and len(healthcheck["test"]) > 1
    assert "disable" not in healthcheck
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in healthcheck:
            assert GO_DURATION.match(healthcheck[key]), (key, healthcheck[key])


def dockerfile_user(path: str) -> str:
    users = re.findall(r"^USER\s+(\S+)", (REPO / path).read_text(), re.M)
    assert users, f"{path} names no USER"
    return users[-1]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_runs_as_a_non_root_user(service):
    svc = SERVICES[service]
    if service in ROOT_EXCEPTIONS:
        return
    if "build" in svc:
        dockerfile = svc["build"]["dockerfile"]
        assert dockerfile_user(dockerfile) == BUILT_AS[dockerfile]
        assert "user" not in svc, "the Dockerfile says who runs it"
    else:
        assert str(svc.get("user")) == PULLED_AS[service]
    user = str(svc.get("user") or BUILT_AS[svc["build"]["dockerfile"]])
    assert user.split(":")[0] not in ROOT


def test_every_user_rule_names_a_service_that_exists():
    assert set(PULLED_AS) == {name for name, svc in SERVICES.items() if "build" not in svc}
    assert set(ROOT_EXCEPTIONS) <= set(SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_drops_all_capabilities_and_gains_no_privileges(service):
    assert SERVICES[service]["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in SERVICES[service]["security_opt"]
    assert not SERVICES[service].get("privileged") and "cap_add" not in SERVICES[service]


def test_every_setting_compose_reads_is_documented_in_env_example():
    undocumented = used_variables() - documented() - set(NOT_IN_ENV_FILE)
    assert not undocumented, sorted(undocumented)


def merged_with_the_cluster_file() -> dict:
    """docker-compose.yml with docker-compose.cluster.yml over it, merged as Compose merges files: maps
    key by key (an `environment:` too), `volumes:` by their target path, `extends:` resolved first."""
    base, _ = interpolated({})
    cluster = Interpolation({}, placeholder).value(yaml.safe_load((REPO / "docker-compose.cluster.yml").read_text()))

    def merge(under, over):
        if isinstance(under, dict) and isinstance(over, dict):
            return {**under, **{key: merge(under.get(key), value) for key, value in over.items()}}
        if isinstance(under, list) and isinstance(over, list) and all(":" in str(v) for v in under + over):
            by_target = {str(v).split(":")[1]: v for v in under}
            by_target.update({str(v).split(":")[1]: v for v in over})
            return list(by_target.values())
        return over

    services = dict(base["services"])
    for name, service in cluster["services"].items():
        extends = service.pop("extends", None)
        under = services[extends["service"]] if extends else services.get(name, {})
        services[name] = merge(under, service)
    return {**base, "services": services, "volumes": {**base["volumes"], **cluster["volumes"]}}


def test_the_cluster_file_makes_three_brokers_that_every_client_reaches():
    document = merged_with_the_cluster_file()
    assert validation_errors(document) == []
    brokers = {
        name: service
        for name, service in document["services"].items()
        if name.startswith("kafka") and name != "kafka-ui"
    }
    assert sorted(brokers) == ["kafka", "kafka-2", "kafka-3"]
    ids = sorted(int(service["environment"]["KAFKA_NODE_ID"]) for service in brokers.values())
    assert ids == [1, 2, 3]
    for name, service in brokers.items():
        env = service["environment"]
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"INTERNAL://{name}:29092"
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2 and int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 3
    volumes = [service["volumes"] for service in brokers.values()]
    assert len({tuple(v) for v in volumes}) == 3  # each node its own log
    every = "kafka:29092,kafka-2:29092,kafka-3:29092"
    for name, service in document["services"].items():
        env = service.get("environment") or {}
        if "KAFKA_BOOTSTRAP_SERVERS" in env:
            assert env["KAFKA_BOOTSTRAP_SERVERS"] == every, name
            assert (env["KAFKA_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2"), name
    assert document["services"]["kafka-ui"]["environment"]["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == every
