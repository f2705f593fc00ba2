import socket
from datetime import UTC, datetime

from celery import Celery
from django.conf import settings

from bridge.config import BridgeConfig
from bridge.consumer import make_celery
from bridge.handlers import Dispatch, report_handoffs
from bridge.routing import ROUTES
from events import EVENT_TYPES, ContactFormSubmitted, EmailDispatched, make_envelope


class RecordingCelery(Celery):
    """A real app (chains need its configuration) whose sends are recorded instead of queued."""

    def __init__(self):
        super().__init__("recording", set_as_current=False)
        self.sent = []

    def send_task(self, name, args=None, kwargs=None, **options):
        self.sent.append((name, list(args), kwargs or {}, options.get("chain")))


def dispatch(envelope, celery=None):
    celery = celery or RecordingCelery()
    handler = ROUTES[(envelope.type, envelope.dataversion)]
    state = Dispatch(celery=celery, delivered_at=datetime(2026, 1, 1, tzinfo=UTC))
    if handler is not None:
        handler(envelope, state)
    report_handoffs(state)
    return celery.sent


def submitted(submission_id="s-1"):
    return make_envelope(
        ContactFormSubmitted(submission_id=submission_id),
        source="t",
        correlation_id="c",
    )


def test_every_event_type_has_a_route():
    assert set(ROUTES) == set(EVENT_TYPES)


def test_a_submission_starts_the_mailer_and_the_saga_chain_then_the_batch_reports_its_hand_off():
    envelope = submitted()
    sent = dispatch(envelope)
    assert [name for name, *_ in sent] == ["mailer.send_confirmation", "workflow.tag_lead", "intake.record_handoffs"]
    assert sent[0][1] == ["s-1", envelope.id]
    _, args, kwargs, rest = sent[1]
    assert args == ["s-1"] and kwargs == {"causation_id": envelope.id}
    # Celery's chain: the steps still to run, last first.
    assert [step["task"] for step in rest] == ["workflow.create_crm_lead", "workflow.assign_owner"]
    assert sent[2][1] == [[[envelope.id, "s-1", "2026-01-01T00:00:00+00:00"]]]


def test_later_events_hand_nothing_off():
    envelope = make_envelope(EmailDispatched(submission_id="s", message_id="m"), source="t", correlation_id="c")
    assert ROUTES[(envelope.type, envelope.dataversion)] is None
    assert dispatch(envelope) == []


def test_the_bridge_routes_tasks_to_the_queues_the_workers_consume():
    celery = make_celery(BridgeConfig.from_env())
    assert celery.conf.task_routes == settings.CELERY_TASK_ROUTES
    assert celery.conf.task_default_queue == settings.CELERY_TASK_DEFAULT_QUEUE
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {
        settings.CELERY_TASK_DEFAULT_QUEUE
    } == set(settings.CELERY_QUEUES_WATCHED)


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
