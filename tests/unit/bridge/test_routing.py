import socket
from datetime import UTC, datetime

from bridge.config import BridgeConfig
from bridge.handlers import Dispatch
from bridge.routing import ROUTES
from events import EVENT_TYPES, ContactFormSubmitted, EmailDispatched, decode, make_envelope


class RecordingCelery:
    """Records send_task calls: the bridge only ever sends tasks by name."""

    def __init__(self):
        self.sent = []

    def send_task(self, name, args):
        self.sent.append((name, args))


def dispatch(envelope):
    celery = RecordingCelery()
    handler = ROUTES[(envelope.type, envelope.dataversion)]
    handler(envelope, Dispatch(celery=celery, delivered_at=datetime(2026, 1, 1, tzinfo=UTC)))
    return celery.sent


def test_every_event_type_has_a_route():
    assert set(ROUTES) == set(EVENT_TYPES)


def test_submitted_event_is_recorded_then_starts_the_mailer_and_the_workflow():
    envelope = make_envelope(
        ContactFormSubmitted(submission_id="s-1", name="n", email="e@x.org", message="m"),
        source="t",
        correlation_id="c",
    )
    sent = dispatch(envelope)
    assert [name for name, _ in sent] == ["intake.record_event", "mailer.send_confirmation", "workflow.start_saga"]
    recorded, when = sent[0][1]
    assert decode(recorded) == envelope and when == "2026-01-01T00:00:00+00:00"
    assert sent[1][1] == ["s-1", envelope.id] and sent[2][1] == ["s-1", envelope.id]


def test_later_events_only_reach_the_timeline():
    envelope = make_envelope(
        EmailDispatched(submission_id="s", recipient="r", message_id="m"), source="t", correlation_id="c"
    )
    assert [name for name, _ in dispatch(envelope)] == ["intake.record_event"]


def test_config_reads_the_environment_over_defaults(monkeypatch):
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    monkeypatch.setenv("KAFKA_TOPIC", "events.other")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:7000/1")
    for name in ("REDIS_URL", "KAFKA_SESSION_TIMEOUT_MS", "KAFKA_GROUP_INSTANCE_ID"):
        monkeypatch.delenv(name, raising=False)
    config = BridgeConfig.from_env()
    assert config.topic == "events.other"
    assert config.redis_url == config.celery_broker_url == "redis://127.0.0.1:7000/1"
    assert config.session_timeout_ms == 45000  # Kafka's own default: restarts rely on static membership
    assert config.group_instance_id == f"bridge-{socket.gethostname()}"


def test_each_bridge_can_be_given_its_own_static_member_id(monkeypatch):
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    monkeypatch.setenv("KAFKA_GROUP_INSTANCE_ID", "bridge-2")
    assert BridgeConfig.from_env().group_instance_id == "bridge-2"
