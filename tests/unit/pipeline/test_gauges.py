"""The reconciler's outside-in gauges: what the alerts read when the process they watch is down."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from intake.services import submission_create
from outbox.models import OutboxEvent
from pipeline.gauges import PipelineGauges

pytestmark = pytest.mark.django_db


def sample(name: str, **labels) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_the_outbox_gauge_is_the_age_of_the_oldest_unsent_event_and_zero_when_all_are_sent(monkeypatch):
    monkeypatch.setattr(PipelineGauges, "group_lag", lambda self: {0: 2, 1: 0})
    submission_create(name="Ada", email="ada@example.org", message="Hi")  # its event waits in the outbox
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=120))
    gauges = PipelineGauges()
    gauges.measure()
    assert 119 <= sample("intake_outbox_oldest_unpublished_seconds") < 130
    assert sample("intake_consumer_group_lag", group="bridge", topic="events.contact_form", partition="0") == 2
    OutboxEvent.objects.update(published_at=timezone.now())
    gauges.measure()
    assert sample("intake_outbox_oldest_unpublished_seconds") == 0


def test_an_unreachable_kafka_is_logged_once_per_streak_and_leaves_the_other_gauges_measured(monkeypatch, caplog):
    def down(self):
        raise RuntimeError("no broker")

    monkeypatch.setattr(PipelineGauges, "group_lag", down)
    gauges = PipelineGauges()
    gauges.measure()
    gauges.measure()
    assert [r.getMessage() for r in caplog.records].count("could not measure the consumer group's lag: no broker") == 1
    assert sample("intake_sagas_stalled") == 0
