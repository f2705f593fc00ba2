"""Kafka on loopback takes no stranger: the broker asks every client to sign in (SASL/PLAIN), as
the pipeline's own clients do, on its client listener and its controller listener alike."""

import dataclasses
import subprocess
import sys

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from tests.servers import KAFKA_RUNNER, REPO

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]


def topics_seen(config: dict) -> set[str]:
    return set(AdminClient({**config, "log_level": 0}).list_topics(timeout=5).topics)


def test_a_client_without_the_password_reads_nothing_from_the_broker(stack):
    assert stack.topic in topics_seen(stack.kafka.confluent())  # the stack's own sign-in works
    with pytest.raises(KafkaException):
        topics_seen({"bootstrap.servers": stack.bootstrap})  # no sign-in at all
    wrong = dataclasses.replace(stack.kafka, auth=dataclasses.replace(stack.kafka.auth, sasl_password="guess"))
    with pytest.raises(KafkaException):
        topics_seen(wrong.confluent())
    # An independent client library, without credentials, gets no record of the topic either.
    with pytest.raises(KafkaError):
        KafkaConsumer(stack.topic, bootstrap_servers=stack.bootstrap, consumer_timeout_ms=3000, request_timeout_ms=4000)


def test_the_controller_listener_asks_for_the_sign_in_too(stack):
    controller = f"127.0.0.1:{stack.ports['kafka_controller']}"
    quorum = [sys.executable, str(KAFKA_RUNNER), "tool", "metadata-quorum", "--bootstrap-controller", controller]
    signed_in = subprocess.run(
        [*quorum, "describe", "--status"], env=stack.env, cwd=REPO, capture_output=True, text=True, timeout=90
    )
    assert signed_in.returncode == 0, signed_in.stderr
    assert "LeaderId:" in signed_in.stdout
    plain = stack.tmp / "plain.properties"
    plain.write_text("security.protocol=PLAINTEXT\ndefault.api.timeout.ms=5000\nrequest.timeout.ms=4000\n")
    stranger = subprocess.run(
        [*quorum, "--command-config", str(plain), "describe", "--status"],
        env=stack.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert stranger.returncode != 0
    assert "LeaderId:" not in stranger.stdout
