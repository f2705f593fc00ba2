"""deploy/kafka/broker.py without a JVM: the node's configuration, the cluster id, the tool lines,
and the one Kafka version shared by local mode and Compose."""

import importlib.util
import re
from types import SimpleNamespace

import pytest

from tests.servers import KAFKA_RUNNER, REPO

spec = importlib.util.spec_from_file_location("kafka_runner", KAFKA_RUNNER)
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)


def properties(path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_compose_runs_the_kafka_version_that_local_mode_resolves():
    compose = (REPO / "docker-compose.yml").read_text()
    assert re.search(r"image: apache/kafka:(\S+)", compose).group(1) == runner.kafka_version()


def test_node_config_is_one_kraft_node_on_this_run_s_ports_and_log_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    rendered = properties(runner.render_properties(tmp_path, "127.0.0.1", 41001, 41002))
    assert rendered["process.roles"] == "broker,controller"
    assert rendered["listeners"] == "PLAINTEXT://127.0.0.1:41001,CONTROLLER://127.0.0.1:41002"
    assert rendered["controller.quorum.voters"] == "1@127.0.0.1:41002"
    assert rendered["log.dirs"] == str(tmp_path / "logs")
    assert rendered["group.initial.rebalance.delay.ms"] == "0"
    assert rendered["auto.create.topics.enable"] == "false"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor", "min.insync.replicas"):
        assert rendered[key] == "1"
    assert list(rendered).count("listeners") == 1  # overridden in place, not appended twice


def test_cluster_ids_are_kafka_uuids_that_never_start_with_a_dash():
    ids = {runner.new_cluster_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", value) and not value.startswith("-") for value in ids)


def test_storage_is_formatted_once_and_keeps_its_cluster_id(tmp_path, monkeypatch):
    runs = []
    monkeypatch.setattr(runner, "_classpath", lambda: "lib/*")
    monkeypatch.setattr(runner.subprocess, "run", lambda cmd, **kw: runs.append(cmd) or _Done())
    props = runner.render_properties(tmp_path, "127.0.0.1", 41001, 41002)
    first = runner.format_storage(tmp_path, props)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "meta.properties").write_text(f"cluster.id={first}\n")
    assert runner.format_storage(tmp_path, props) == first
    assert len(runs) == 1 and runs[0][runs[0].index("--cluster-id") + 1] == first
    assert "kafka.tools.StorageTool" in runs[0] and "format" in runs[0]


class _Done:
    returncode = 0
    stdout = stderr = ""


def test_tools_get_the_configured_bootstrap_server_unless_given(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "_classpath", lambda: "lib/*")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    monkeypatch.setenv("KAFKA_DATA_DIR", str(tmp_path))
    line = runner.tool_command("kafka-consumer-groups.sh", ["--describe", "--group", "bridge"])
    assert line[line.index("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand") + 1 :] == [
        "--bootstrap-server",
        "127.0.0.1:19092",
        "--command-config",
        str(tmp_path / "client.properties"),
        "--describe",
        "--group",
        "bridge",
    ]
    given = runner.tool_command("topics", ["--bootstrap-server", "other:9092", "--list"])
    assert given.count("--bootstrap-server") == 1 and "other:9092" in given
    assert "--bootstrap-server" not in runner.tool_command("storage", ["info", "-c", "x"])


def test_an_unknown_tool_is_refused_with_the_known_names():
    with pytest.raises(runner.BrokerError, match="unknown Kafka tool 'nope'.*consumer-groups"):
        runner.tool_command("nope", [])


def test_the_broker_needs_its_jars_installed(monkeypatch):
    monkeypatch.setattr(runner, "installed", lambda: False)
    with pytest.raises(runner.BrokerError, match="not installed"):
        runner.tool_command("topics", ["--list"])


PASSWORD = 'pw"with\\odd'  # a quote and a backslash: both escaped on the way into the JAAS line


def test_with_a_password_both_listeners_ask_for_sasl_plain_and_the_file_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "pipeline")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    path = runner.render_properties(tmp_path, "127.0.0.1", 41001, 41002)
    rendered = properties(path)
    assert rendered["listeners"] == "SASL_PLAINTEXT://127.0.0.1:41001,CONTROLLER://127.0.0.1:41002"
    assert rendered["listener.security.protocol.map"] == "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    assert rendered["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert rendered["sasl.enabled.mechanisms"] == "PLAIN"
    assert rendered["sasl.mechanism.controller.protocol"] == "PLAIN"
    for listener in ("sasl_plaintext", "controller"):
        jaas = rendered[f"listener.name.{listener}.plain.sasl.jaas.config"]
        # As Java's .properties reader gives it back: a backslash doubled once, for the file.
        assert jaas.replace("\\\\", "\\") == (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            'username="pipeline" password="pw\\"with\\\\odd" user_pipeline="pw\\"with\\\\odd";'
        )
    assert path.stat().st_mode & 0o777 == 0o600


def test_without_a_password_the_node_listens_in_plain(tmp_path, monkeypatch):
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    rendered = properties(runner.render_properties(tmp_path, "127.0.0.1", 41001, 41002))
    assert rendered["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert not any(key.startswith(("sasl.", "listener.name.")) for key in rendered)


def test_tools_sign_in_through_a_private_client_file_unless_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_classpath", lambda: "lib/*")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("KAFKA_DATA_DIR", str(tmp_path))
    line = runner.tool_command("topics", ["--list"])
    config = tmp_path / "client.properties"
    assert line[line.index("--command-config") + 1] == str(config)
    written = properties(config)
    assert written["security.protocol"] == "SASL_PLAINTEXT" and written["sasl.mechanism"] == "PLAIN"
    assert 'username="pipeline"' in written["sasl.jaas.config"]
    assert config.stat().st_mode & 0o777 == 0o600
    own = runner.tool_command("topics", ["--command-config", "mine.properties", "--list"])
    assert own.count("--command-config") == 1
    assert "--command-config" not in runner.tool_command("topics", ["--help"])
    assert "--command-config" not in runner.tool_command("storage", ["info", "-c", "x"])


def test_a_node_of_a_three_node_cluster_votes_with_the_others_and_replicates_kafka_s_own_topics(tmp_path, monkeypatch):
    monkeypatch.delenv("KAFKA_SASL_PASSWORD", raising=False)
    voters = "1@127.0.0.1:41002,2@127.0.0.1:41004,3@127.0.0.1:41006"
    rendered = properties(runner.render_properties(tmp_path, "127.0.0.1", 41003, 41004, node=1, voters=voters))
    assert rendered["node.id"] == "2" and rendered["controller.quorum.voters"] == voters
    assert rendered["listeners"] == "PLAINTEXT://127.0.0.1:41003,CONTROLLER://127.0.0.1:41004"
    assert rendered["offsets.topic.replication.factor"] == rendered["default.replication.factor"] == "3"
    assert rendered["min.insync.replicas"] == rendered["transaction.state.log.min.isr"] == "2"


def test_the_nodes_of_a_cluster_share_one_cluster_id_whoever_writes_it_first(tmp_path, monkeypatch):
    formatted = []
    monkeypatch.setattr(
        runner.subprocess, "run", lambda cmd, **kw: formatted.append(cmd) or SimpleNamespace(returncode=0)
    )
    ids = {
        runner.format_storage(tmp_path / f"node-{n}", tmp_path / "p", id_file=tmp_path / "cluster.id") for n in range(3)
    }
    assert len(ids) == 1 and (tmp_path / "cluster.id").read_text().strip() in ids
    assert [cmd[cmd.index("--cluster-id") + 1] for cmd in formatted] == [ids.pop()] * 3
    assert not list(tmp_path.glob(".cluster.id.*"))  # no draft left behind
