"""How every Kafka client here connects: the bootstrap list and, when a password is set, SASL.

One function builds the librdkafka (confluent-kafka) settings for the relay, the bridge, the event
console, the health checks and the topic set-up, so that turning authentication on is one setting
for all of them:

- KAFKA_SASL_PASSWORD empty: plain connections (a broker on a private network, as in Compose).
- KAFKA_SASL_PASSWORD set: SASL_PLAINTEXT with KAFKA_SASL_MECHANISM (PLAIN) as KAFKA_SASL_USERNAME,
  which is what the local broker asks for on loopback. A real cluster would set
  KAFKA_SECURITY_PROTOCOL=SASL_SSL and KAFKA_SASL_MECHANISM=SCRAM-SHA-512.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from common.defaults import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


@dataclass(frozen=True, repr=False)
class KafkaAuth:
    """The security half of a Kafka client's settings (the other half is the bootstrap list)."""

    security_protocol: str  # empty: SASL_PLAINTEXT when a password is set, else PLAINTEXT
    sasl_mechanism: str
    sasl_username: str
    sasl_password: str

    SETTINGS = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> "KafkaAuth":
        """From settings or environment names (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*), with the table's
        defaults for those unset or empty."""
        settings = Settings(values)
        return cls(
            security_protocol=settings["KAFKA_SECURITY_PROTOCOL"],
            sasl_mechanism=settings["KAFKA_SASL_MECHANISM"],
            sasl_username=settings["KAFKA_SASL_USERNAME"],
            sasl_password=settings["KAFKA_SASL_PASSWORD"],
        )

    def __repr__(self) -> str:  # never the password (settings are printed by diffsettings and error pages)
        return f"KafkaAuth({self.protocol}, {self.sasl_mechanism}, user={self.sasl_username!r})"

    @property
    def protocol(self) -> str:
        protocol = (self.security_protocol or ("SASL_PLAINTEXT" if self.sasl_password else "PLAINTEXT")).upper()
        if protocol not in PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
        return protocol

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def librdkafka(self) -> dict[str, str]:
        """confluent-kafka's names for these settings."""
        settings = {"security.protocol": self.protocol.lower()}
        if self.uses_sasl:
            settings |= {
                "sasl.mechanism": self.sasl_mechanism,
                "sasl.username": self.sasl_username,
                "sasl.password": self.sasl_password,
            }
        return settings

    def kafka_python(self) -> dict[str, str]:
        """kafka-python's keyword arguments for these settings (the tests' independent client)."""
        settings = {"security_protocol": self.protocol}
        if self.uses_sasl:
            settings |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        return settings


def client_config(bootstrap_servers: str, auth: KafkaAuth, **extra) -> dict:
    """A confluent-kafka client's settings: where the brokers are, how to sign in, then `extra`."""
    return {"bootstrap.servers": bootstrap_servers, **auth.librdkafka(), **extra}


def is_under_replicated(replicas: Sequence[int], in_sync: Sequence[int]) -> bool:
    """A partition is under-replicated while fewer of its replicas are in sync than it has: one more
    broker lost may stop its writes (below min.insync.replicas) or lose its only copy."""
    return len(in_sync) < len(replicas)


def partition_lag(committed: int | None, earliest: int | None, end: int | None) -> int | None:
    """Records a consumer group has still to read in one partition: its end offset minus the group's
    committed offset. A partition never committed (None, or librdkafka's negative "no offset") counts
    from its first record, where the group starts (auto.offset.reset=earliest). None: not known."""
    if end is None:
        return None
    start = committed if committed is not None and committed >= 0 else earliest
    return None if start is None else max(0, end - start)
