"""The Prometheus metrics move where the work is done, and each process serves them on its port."""

import importlib
import json
import logging
import re
import smtplib
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from celery import shared_task
from django.conf import settings
from django.core.cache import caches
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from bridge import consumer as bridge_consumer
from common.logs import CORRELATION_ID, CorrelationIdFilter, JsonFormatter
from config import celery as celery_config
from infra import metrics
from intake.models import Submission
from intake.services import submission_create
from intake.throttling import SubmissionRateThrottle
from mailer import services as mailer_services
from mailer.services import confirmation_send
from outbox.models import OutboxEvent
from outbox.relay import OutboxBacklogCollector
from tests.unit.bridge.test_records import FakeMessage, FakeRedis, submitted_value
from tests.unit.bridge.test_routing import RecordingCelery
from tests.unit.factories import SubmissionFactory
from tests.unit.intake.test_reconcile import accepted, reconciler
from tests.unit.outbox.test_outbox import RecordingProducer, make_relay
from workflow import engine as workflow_engine
from workflow import steps as workflow_steps
from workflow import tasks as workflow_tasks

BODY = {"name": "Ada", "email": "ada@example.org", "message": "Hi"}
DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards" / "intake.json"


@pytest.fixture(autouse=True)
def no_correlation_id():
    """Each test starts outside any submission (services called directly, not from a task, keep theirs)."""
    token = CORRELATION_ID.set(None)
    yield
    CORRELATION_ID.reset(token)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """How much samples moved during a block: `with Delta() as moved: ...; moved("name", label=...)`."""

    def __enter__(self):
        self.before = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in self._samples()}
        return self

    def __exit__(self, *exc):
        self.after = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in self._samples()}

    def __call__(self, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return self.after.get(key, 0.0) - self.before.get(key, 0.0)

    @staticmethod
    def _samples():
        return [sample for family in REGISTRY.collect() for sample in family.samples]


def json_lines_of(logger_name: str, log_filter: logging.Filter | None = None) -> tuple[logging.Handler, list]:
    """Capture `logger_name`'s records as the processes write them (JSON, with the correlation filter)."""
    captured: list[dict] = []

    class Capture(logging.Handler):
        def emit(self, record):
            captured.append(json.loads(self.format(record)))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(log_filter or CorrelationIdFilter())
    logging.getLogger(logger_name).addHandler(handler)
    return handler, captured


# --- the API ---


@pytest.mark.django_db
def test_accepted_and_rejected_submissions_are_counted_by_reason(monkeypatch):
    caches["throttle"].clear()
    client = APIClient()
    with Delta() as moved:
        assert client.post("/api/submissions/", BODY, format="json").status_code == 201
        assert client.post("/api/submissions/", {**BODY, "email": "nope"}, format="json").status_code == 400
        assert client.post("/api/submissions/", {**BODY, "website": "x"}, format="json").status_code == 400
        assert client.post("/api/submissions/", "{", content_type="application/json").status_code == 400
        monkeypatch.setattr(SubmissionRateThrottle, "THROTTLE_RATES", {"submissions": "1/minute"})
        assert client.post("/api/submissions/", BODY, format="json").status_code == 429
    caches["throttle"].clear()
    assert moved("intake_submissions_total", outcome="accepted", reason="") == 1
    assert moved("intake_submissions_total", outcome="rejected", reason="validation") == 2
    assert moved("intake_submissions_total", outcome="rejected", reason="honeypot") == 1
    assert moved("intake_submissions_total", outcome="rejected", reason="throttled") == 1


@pytest.mark.django_db
def test_the_api_serves_its_requests_on_metrics():
    client = APIClient()
    client.post("/api/submissions/", BODY, format="json")
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in body
    assert 'intake_submissions_total{outcome="accepted",reason=""}' in body


# --- Celery tasks ---


@shared_task(name="tests.ops.succeeds")
def succeeds() -> dict:
    return {}


@shared_task(name="tests.ops.fails")
def fails() -> dict:
    raise LookupError("gone")


@shared_task(name="tests.ops.retries", bind=True, max_retries=1, default_retry_delay=0)
def retries(self) -> dict:
    if self.request.retries == 0:
        raise self.retry(exc=ConnectionError("again"))
    return {}


def test_tasks_are_counted_by_name_and_outcome_and_timed():
    with Delta() as moved:
        succeeds.apply()
        fails.apply(throw=False)
        retries.apply(throw=False)
    assert moved("celery_tasks_total", task="tests.ops.succeeds", outcome="success") == 1
    assert moved("celery_task_duration_seconds_count", task="tests.ops.succeeds") == 1
    assert moved("celery_tasks_total", task="tests.ops.fails", outcome="failure") == 1
    assert moved("celery_task_failures_total", task="tests.ops.fails", exception="LookupError") == 1
    assert moved("celery_task_retries_total", task="tests.ops.retries", exception="ConnectionError") == 1
    assert moved("celery_tasks_total", task="tests.ops.retries", outcome="retry") == 1
    assert moved("celery_tasks_total", task="tests.ops.retries", outcome="success") == 1
    assert celery_config._running == {}  # nothing left behind by the nested (eager) retry


def test_a_worker_serves_metrics_on_the_port_of_its_queue(monkeypatch):
    # Unit tests serve no metrics (config.settings.test): ports of their own for this one.
    monkeypatch.setattr(settings, "METRICS_PORT_MAILER", 9103)
    monkeypatch.setattr(settings, "METRICS_PORT_WORKFLOW_AGENT", 9104)
    assert metrics.worker_metrics_port({"mail"}) == ("mailer", settings.METRICS_PORT_MAILER)
    assert metrics.worker_metrics_port({"workflow"}) == ("workflow-agent", settings.METRICS_PORT_WORKFLOW_AGENT)
    assert metrics.worker_metrics_port({"elsewhere"}) == ("worker", 0)
    served = []
    monkeypatch.setattr(metrics, "metrics_serve", lambda port, *, what: served.append((what, port)))
    queues = SimpleNamespace(consume_from={"mail": object()})
    celery_config.serve_worker_metrics(SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=queues))))
    assert served == [("mailer", settings.METRICS_PORT_MAILER)]


def test_a_replica_on_one_host_serves_on_its_own_port(monkeypatch):
    from config.settings import observability

    monkeypatch.setenv("METRICS_PORT_MAILER", "9103")
    monkeypatch.setenv("METRICS_PORT_RELAY", "0")
    monkeypatch.setenv("METRICS_REPLICA", "2")
    try:
        reloaded = importlib.reload(observability)
        assert reloaded.METRICS_PORT_MAILER == 9303 and reloaded.METRICS_PORT_RELAY == 0
    finally:
        monkeypatch.undo()
        importlib.reload(observability)


# --- email and workflow outcomes ---


@pytest.mark.django_db
def test_emails_are_counted_sent_retrying_and_failed(monkeypatch, django_capture_on_commit_callbacks):
    sent, busy, refused = SubmissionFactory(), SubmissionFactory(), SubmissionFactory()
    with Delta() as moved:
        confirmation_send(submission_id=str(sent.id))

        def answer(code):
            def send(message, submission):
                raise smtplib.SMTPRecipientsRefused({submission.email: (code, b"no")})

            return send

        monkeypatch.setattr(mailer_services, "_send_and_note", answer(451))
        confirmation_send(submission_id=str(busy.id))
        monkeypatch.setattr(mailer_services, "_send_and_note", answer(550))
        with django_capture_on_commit_callbacks(execute=True):
            confirmation_send(submission_id=str(refused.id))
    assert [moved("intake_emails_total", outcome=outcome) for outcome in ("sent", "retrying", "failed")] == [1, 1, 1]


@pytest.mark.django_db
def test_workflows_are_counted_completed_compensated_and_compensation_failed(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(workflow_steps, "crm_lead_create", lambda **_: "crm-1")
    happy, failing = SubmissionFactory(), SubmissionFactory(demo_fail_at="assign_owner")
    with Delta() as moved, django_capture_on_commit_callbacks(execute=True):
        for step in (workflow_steps.lead_tag, workflow_steps.lead_assign_owner, workflow_steps.crm_lead_push):
            step(submission_id=str(happy.id))
        workflow_steps.lead_tag(submission_id=str(failing.id))
        with pytest.raises(workflow_engine.WorkflowStepError) as failure:
            workflow_steps.lead_assign_owner(submission_id=str(failing.id))
        workflow_tasks.assign_owner.on_failure(failure.value, "task-id", (str(failing.id),), {}, None)
    assert moved("intake_workflows_total", outcome="completed") == 1
    assert moved("intake_workflows_total", outcome="compensated") == 1


# --- the relay ---


@pytest.mark.django_db(transaction=True)
def test_the_relay_counts_what_it_published_with_its_lag_and_logs_each_event_with_its_correlation_id():
    submission = submission_create(name="Ada", email="ada@example.org", message="Hi")
    handler, captured = json_lines_of("outbox.relay")
    try:
        with Delta() as moved:
            assert make_relay(RecordingProducer()).run_once() == 1
            assert make_relay(RecordingProducer(fail=True)).run_once() == 0
    finally:
        logging.getLogger("outbox.relay").removeHandler(handler)
    assert moved("intake_events_published_total", type="ContactFormSubmitted") == 1
    assert moved("intake_relay_lag_seconds_count") == 1
    [line] = [line for line in captured if line["message"].startswith("published")]
    assert line["correlation_id"] == str(submission.correlation_id)
    assert line["submission_id"] == str(submission.id) and line["event_type"] == "ContactFormSubmitted"


@pytest.mark.django_db(transaction=True)
def test_the_outbox_backlog_is_counted_when_scraped():
    for n in range(3):
        submission_create(name="Ada", email=f"ada{n}@example.org", message="Hi")
    OutboxEvent.objects.filter(pk=OutboxEvent.objects.first().pk).update(published_at="2026-01-01T00:00:00Z")
    scraped = []
    # As the metrics server does: in a thread of its own, with a connection of its own.
    scrape = threading.Thread(target=lambda: scraped.extend(OutboxBacklogCollector().collect()))
    scrape.start()
    scrape.join()
    values = {family.name: family.samples[0].value for family in scraped}
    assert values["intake_outbox_backlog"] == 2
    assert values["intake_outbox_oldest_unsent_seconds"] >= 0
    assert [family.name for family in OutboxBacklogCollector().describe()] == list(values)


# --- the bridge ---


@pytest.fixture
def bridge(monkeypatch):
    from tests.unit.bridge.test_records import RecordingProducer as DlqProducer

    monkeypatch.setattr("bridge.consumer.Consumer", lambda config: SimpleNamespace())
    monkeypatch.setattr("bridge.consumer.Producer", DlqProducer)
    bridge = bridge_consumer.Bridge(bridge_consumer.BridgeConfig.from_env())
    bridge.redis = FakeRedis()
    token = bridge_consumer.CORRELATION_ID.set(None)
    yield bridge
    bridge_consumer.CORRELATION_ID.reset(token)


def test_the_bridge_counts_records_by_outcome_and_dead_letters_by_reason(bridge):
    from bridge.handlers import Dispatch

    _, value = submitted_value("s-9")
    dispatch = Dispatch(celery=RecordingCelery(), delivered_at=None)
    handler, captured = json_lines_of("bridge.consumer", CorrelationIdFilter())
    try:
        with Delta() as moved:
            outcomes = [bridge.handle(FakeMessage(record, []), dispatch) for record in (value, b"not json", value)]
    finally:
        logging.getLogger("bridge.consumer").removeHandler(handler)
    assert outcomes == ["handed_off", "dead_lettered", "duplicates"]
    assert moved("intake_dead_letters_total", reason="undecodable") == 1
    [line] = [line for line in captured if line["message"].startswith("handed off")]
    assert line["correlation_id"] == "c" and line["submission_id"] == "s-9"


def test_the_bridge_run_counts_each_record_and_restores_the_correlation_id(bridge):
    _, value = submitted_value("s-10")
    records = [FakeMessage(value, [], offset=1), FakeMessage(b"{}", [], offset=2)]
    bridge.consumer = SimpleNamespace(
        poll=lambda timeout: records[0], consume=lambda **_: records[1:], commit=lambda **_: None
    )
    bridge.celery = RecordingCelery()
    with Delta() as moved:
        assert bridge.run_once() == 2
    assert moved("intake_bridge_records_total", outcome="handed_off") == 1
    assert moved("intake_bridge_records_total", outcome="dead_lettered") == 1
    assert bridge_consumer.CORRELATION_ID.get() is None


def test_the_bridge_lag_is_the_end_offset_minus_the_committed_one_per_partition(bridge):
    from confluent_kafka import TopicPartition

    topic = "events.contact_form"
    assigned = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    committed = {0: 40, 1: -1001}  # partition 1: never committed, counts from its first record
    watermarks = {0: (0, 42), 1: (5, 9)}
    bridge.consumer = SimpleNamespace(
        assignment=lambda: assigned,
        committed=lambda tps, timeout: [TopicPartition(tp.topic, tp.partition, committed[tp.partition]) for tp in tps],
        get_watermark_offsets=lambda tp, timeout, cached: watermarks[tp.partition],
    )
    bridge.measure_lag(now=100.0)
    assert value("intake_bridge_lag", topic=topic, partition="0") == 2
    assert value("intake_bridge_lag", topic=topic, partition="1") == 4
    assigned.pop()  # a rebalance took partition 1 away: its series goes
    bridge.measure_lag(now=101.0)  # within the interval: not measured again yet
    assert REGISTRY.get_sample_value("intake_bridge_lag", {"topic": topic, "partition": "1"}) == 4
    bridge.measure_lag(now=200.0)
    assert REGISTRY.get_sample_value("intake_bridge_lag", {"topic": topic, "partition": "1"}) is None


# --- the reconciler ---


@pytest.mark.django_db
def test_the_reconciler_counts_its_actions_by_kind_and_logs_each_under_the_submission_s_correlation_id():
    submission = accepted(5, published=True)
    handler, captured = json_lines_of("pipeline.reconcile")
    try:
        with Delta() as moved:
            assert reconciler(queued=3).run_once(stall_seconds=60)["handoffs"] == 1
    finally:
        logging.getLogger("pipeline.reconcile").removeHandler(handler)
    assert moved("intake_reconciler_actions_total", kind="handoffs") == 1
    assert value("intake_celery_queue_length", queue="workflow") == 3
    [line] = [line for line in captured if "hand-off" in line["message"]]
    assert line["correlation_id"] == str(Submission.objects.get(pk=submission.pk).correlation_id)


# --- serving ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_process_serves_its_metrics_on_its_port_and_survives_a_taken_one(caplog):
    assert metrics.metrics_serve(0, what="test") is False
    port = free_port()
    assert metrics.metrics_serve(port, what="test") is True
    body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "# TYPE celery_tasks_total counter" in body
    assert metrics.metrics_serve(port, what="test") is False  # taken: logged, not raised
    assert "metrics not served" in caplog.text


def test_every_metric_the_dashboard_queries_is_one_the_code_defines():
    if not DASHBOARD.exists():
        pytest.skip("no dashboard in this tree")
    import django_prometheus.middleware  # noqa: F401 (the API's request metrics, registered on import)

    queried = set(re.findall(r"\b((?:intake|celery|django)_[a-z_]+)", DASHBOARD.read_text()))
    defined = {sample_name for family in REGISTRY.collect() for sample_name in _names(family)}
    defined |= {"intake_outbox_backlog", "intake_bridge_lag"}  # computed on scrape / labelled, maybe unset
    assert queried - defined == set()


def _names(family) -> set[str]:
    """The series names a family can expose (a labelled metric that never moved shows no sample)."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count", ""], "gauge": [""]}
    return {family.name + suffix for suffix in suffixes.get(family.type, [""])}
