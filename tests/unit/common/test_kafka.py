"""How every Kafka client signs in (common/kafka.py): one setting turns SASL on for all of them."""

import pytest

from common.kafka import KafkaAuth, client_config, partition_lag


def test_no_password_means_plain_connections():
    config = client_config("127.0.0.1:9092", KafkaAuth.from_mapping({}), acks="all")
    assert config == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "plaintext", "acks": "all"}


def test_a_password_turns_on_sasl_plain_as_the_pipeline_user():
    auth = KafkaAuth.from_mapping({"KAFKA_SASL_PASSWORD": "s3cret"})
    assert client_config("b:9092", auth) == {
        "bootstrap.servers": "b:9092",
        "security.protocol": "sasl_plaintext",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "pipeline",
        "sasl.password": "s3cret",
    }
    assert auth.kafka_python() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "pipeline",
        "sasl_plain_password": "s3cret",
    }


def test_a_real_cluster_names_its_protocol_and_mechanism():
    auth = KafkaAuth.from_mapping(
        {
            "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "intake",
            "KAFKA_SASL_PASSWORD": "p",
        }
    )
    settings = auth.librdkafka()
    assert settings["security.protocol"] == "sasl_ssl" and settings["sasl.mechanism"] == "SCRAM-SHA-512"
    assert settings["sasl.username"] == "intake"


def test_an_unknown_protocol_is_refused_by_name():
    with pytest.raises(ValueError, match="KAFKA_SECURITY_PROTOCOL must be one of .*'TLS'"):
        KafkaAuth.from_mapping({"KAFKA_SECURITY_PROTOCOL": "tls"}).librdkafka()


def test_the_password_never_shows_in_its_printed_form():
    auth = KafkaAuth.from_mapping({"KAFKA_SASL_PASSWORD": "do-not-print-me"})
    assert "do-not-print-me" not in repr(auth) and "do-not-print-me" not in str(auth)
    assert "SASL_PLAINTEXT" in repr(auth)


@pytest.mark.parametrize(
    "committed, earliest, end, lag",
    [
        (40, 0, 50, 10),
        (None, 5, 50, 45),  # never committed: from the first record still on the topic
        (-1001, 5, 50, 45),  # librdkafka's "no offset"
        (60, 0, 50, 0),  # committed past a truncated end: nothing to read
        (10, 0, None, None),
        (None, None, 50, None),
    ],
)
def test_a_groups_lag_in_a_partition(committed, earliest, end, lag):
    assert partition_lag(committed, earliest, end) == lag
