"""The event console's pages: staff only, a clear message when Kafka is down, visitor data escaped."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from console import kafka, services
from console.formatting import Record
from console.kafka import ConsoleError, RawRecord, RecordsPage
from console.selectors import outbox_backlog
from outbox.models import OutboxEvent
from tests.servers import free_port

pytestmark = pytest.mark.django_db

PAGES = ["console:overview", "console:groups", "console:records", "console:search", "console:dlq"]
ACTIONS = ["console:dlq-replay", "console:dlq-replay-all"]


@pytest.fixture
def no_broker(settings, monkeypatch):
    """Kafka at a loopback port where nothing listens, and a short wait for it."""
    settings.KAFKA_BOOTSTRAP_SERVERS = f"127.0.0.1:{free_port()}"
    monkeypatch.setattr(kafka, "REQUEST_SECONDS", 0.5)
    monkeypatch.setattr(kafka, "PAGE_SECONDS", 1.0)


@pytest.fixture
def user_client():
    user = get_user_model().objects.create_user("visitor", password="not-staff-pw-1")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("page", PAGES + ACTIONS)
def test_anonymous_users_are_sent_to_the_admin_login(client, page):
    response = client.get(reverse(page)) if page in PAGES else client.post(reverse(page), {"partition": 0, "offset": 0})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login") + "?next=")


@pytest.mark.parametrize("page", PAGES + ACTIONS)
def test_users_who_are_not_staff_are_refused(user_client, page, monkeypatch):
    monkeypatch.setattr(services, "dead_letters_replay_all", lambda: pytest.fail("replayed for a non-staff user"))
    response = user_client.get(reverse(page)) if page in PAGES else user_client.post(reverse(page), {})
    assert response.status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_staff_see_each_page_with_a_clear_message_when_kafka_is_down(admin_client, no_broker, page):
    started = datetime.now(UTC)
    response = admin_client.get(reverse(page), {"key": "3f1c…"} if page == "console:search" else {})
    assert response.status_code == 200
    assert b'class="errornote"' in response.content
    assert b"did not answer" in response.content
    assert datetime.now(UTC) - started < timedelta(seconds=5)
    assert b"Event console" in response.content and b'id="site-name"' in response.content  # the admin's look


def test_the_overview_shows_the_outbox_backlog_even_when_kafka_is_down(admin_client, no_broker):
    OutboxEvent.objects.create(
        id="00000000-0000-0000-0000-000000000001", topic="t", key="k", event_type="E", payload="{}"
    )
    response = admin_client.get(reverse("console:overview"))
    assert b'<td class="number" id="outbox-unpublished">1</td>' in response.content


def test_the_admin_index_links_to_the_console(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert reverse("console:overview").encode() in response.content
    assert reverse("console:dlq").encode() in response.content


def test_a_replay_needs_a_post_with_the_csrf_token(admin_user, monkeypatch):
    monkeypatch.setattr(services, "dead_letter_replay", lambda **kw: pytest.fail("replayed without a CSRF token"))
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(reverse("console:dlq-replay"), {"partition": 0, "offset": 3}).status_code == 403
    assert client.get(reverse("console:dlq-replay")).status_code == 405


def test_record_values_are_escaped_in_the_page(admin_client, monkeypatch):
    record = Record(
        topic="events.contact_form",
        partition=0,
        offset=7,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        key="<i>key</i>",
        headers=[("<h>", "<script>h()</script>")],
        value='{\n  "message": "<script>alert(1)</script>"\n}',
        value_is_json=True,
    )
    page = RecordsPage("events.contact_form", ["events.contact_form"], [record], True)
    monkeypatch.setattr(kafka, "latest_records", lambda *args, **kwargs: page)
    body = admin_client.get(reverse("console:records")).content.decode()
    assert "<script>" not in body.split("<body", 1)[1].replace('<script src="', "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;i&gt;key&lt;/i&gt;" in body and "&lt;script&gt;h()&lt;/script&gt;" in body


def test_a_key_search_links_to_the_submission(admin_client, monkeypatch):
    submission_id = "0b0c0d0e-0000-4000-8000-000000000001"
    found = kafka.KeySearch("events.contact_form", ["events.contact_form"], submission_id, [], [], True)
    monkeypatch.setattr(kafka, "records_with_key", lambda *args, **kwargs: found)
    body = admin_client.get(reverse("console:search"), {"key": submission_id}).content.decode()
    assert reverse("admin:intake_submission_change", args=[submission_id]) in body
    assert "not in the database" in body
    assert "at most 10000 records per partition" in body


def test_the_replay_button_reports_where_the_record_went(admin_client, monkeypatch):
    calls = []

    def replay(**kwargs):
        calls.append(kwargs)
        return services.Replayed("events.contact_form", 1, 99)

    monkeypatch.setattr(services, "dead_letter_replay", replay)
    response = admin_client.post(reverse("console:dlq-replay"), {"partition": 0, "offset": 12}, follow=False)
    assert response.status_code == 302 and response["Location"] == reverse("console:dlq")
    assert calls == [{"partition": 0, "offset": 12}]
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Replayed events.contact_form.dlq[0]@12 to events.contact_form[1]@99."]


def test_a_replay_that_fails_says_why(admin_client, monkeypatch):
    def replay(**kwargs):
        raise ConsoleError("Kafka at 127.0.0.1:1 did not answer a metadata request: Local: Broker transport failure")

    monkeypatch.setattr(services, "dead_letter_replay", replay)
    response = admin_client.post(reverse("console:dlq-replay"), {"partition": 0, "offset": 12})
    assert [str(m) for m in response.wsgi_request._messages][0].startswith("Nothing replayed: Kafka at")


def test_replay_all_runs_the_bridges_replay(admin_client, settings, monkeypatch):
    monkeypatch.setattr(kafka, "topic_names", lambda: ["events.contact_form"])
    seen = {}

    def replay_dead_letters(config, *, limit=None, timeout=30.0):
        seen.update(topic=config.topic, bootstrap=config.bootstrap_servers, timeout=timeout)
        return 3

    monkeypatch.setattr("bridge.replay.replay_dead_letters", replay_dead_letters)
    response = admin_client.post(reverse("console:dlq-replay-all"))
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Replayed 3 dead letter(s) parked since the last replay."
    ]
    assert seen == {"topic": settings.KAFKA_TOPIC, "bootstrap": settings.KAFKA_BOOTSTRAP_SERVERS, "timeout": 5.0}


def test_a_dead_letter_is_replayed_only_to_the_topic_it_was_parked_from(monkeypatch, settings):
    dlq = f"{settings.KAFKA_TOPIC}.dlq"
    parked = RawRecord(dlq, 0, 5, b"k", b"v", [("dlq_source_topic", b"payments.transfers")])
    monkeypatch.setattr(kafka, "record_at", lambda *args: parked)
    with pytest.raises(ConsoleError, match="names 'payments.transfers' as its source"):
        services.dead_letter_replay(partition=0, offset=5)


def test_the_outbox_backlog_counts_unpublished_rows_their_age_and_claims():
    now = timezone.now()

    def row(n: int, **fields) -> None:
        OutboxEvent.objects.create(
            id=f"00000000-0000-0000-0000-{n:012d}", topic="t", key="k", event_type="E", payload="{}", **fields
        )

    row(1, published_at=now)
    row(2)
    row(3, claim_token="a", claimed_until=now + timedelta(seconds=20))
    row(4, claim_token="b", claimed_until=now - timedelta(seconds=5), last_error="broker down")
    OutboxEvent.objects.filter(id="00000000-0000-0000-0000-000000000002").update(created_at=now - timedelta(minutes=3))
    backlog = outbox_backlog(now=now)
    assert (backlog.unpublished, backlog.claimed, backlog.claims_expired, backlog.with_error) == (3, 1, 1, 1)
    assert backlog.oldest_age == timedelta(minutes=3)


def test_the_overview_shows_each_broker_and_each_partition_s_leader_and_in_sync_replicas(admin_client, monkeypatch):
    topic = kafka.TopicOffsets(
        "events.contact_form",
        [
            kafka.PartitionOffsets(0, 0, 12, leader=2, replicas=(2, 3, 1), in_sync=(1, 2, 3)),
            kafka.PartitionOffsets(1, 0, 9, leader=3, replicas=(3, 1, 2), in_sync=(2, 3)),
        ],
    )
    monkeypatch.setattr(kafka, "topics_with_offsets", lambda **kwargs: [topic])
    brokers = [kafka.Broker(1, "127.0.0.1:9092"), kafka.Broker(2, "127.0.0.1:9094")]
    monkeypatch.setattr(kafka, "brokers", lambda: brokers)
    body = admin_client.get(reverse("console:overview")).content.decode()
    assert "127.0.0.1:9092" in body and "127.0.0.1:9094" in body and "metadata-quorum describe --status" in body
    assert "3,1,2" in body and "<td>2,3 <strong>under-replicated</strong></td>" in body
    assert body.count("under-replicated</strong>") == 1  # partition 0 has all three in sync
