"""The event console against the real broker: topics, records, key search, groups, dead letters and replay.

The pages are requested through Django's test client as a staff user, with the console pointed at the
session's broker; the pipeline around that broker (relay, bridge, workers) is the `stack` fixture's.
"""

import json
import re
import subprocess
import textwrap
import uuid

import pytest
import requests
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.urls import reverse

from bridge.dlq import DeadLetters
from tests.conftest import bridge_caught_up, crm_leads, emails_to, final_state
from tests.servers import BIN, REPO, KafkaAccess, read_submission, remember_token, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db, pytest.mark.usefixtures("dump_logs_on_failure")]


@pytest.fixture
def console(stack, settings, admin_client):
    """A staff user's browser on the console, which reads the session's broker."""
    settings.KAFKA_BOOTSTRAP_SERVERS = stack.bootstrap
    settings.KAFKA_AUTH = stack.kafka.auth
    settings.KAFKA_TOPIC = stack.topic
    return admin_client


def create_topic(kafka: KafkaAccess, partitions: int) -> str:
    name = f"console-test-{uuid.uuid4().hex[:10]}"
    admin = AdminClient(kafka.confluent())
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        future.result(timeout=15)
    wait_until(lambda: name in admin.list_topics(timeout=5).topics, what=f"topic {name}")
    return name


def produce(kafka: KafkaAccess, topic: str, records: list[dict]) -> None:
    producer = Producer(kafka.confluent(acks="all"))
    for record in records:
        producer.produce(topic, **record)
    assert producer.flush(15) == 0


def rows(body: str) -> list[str]:
    """The record rows of a console page, newest first, as HTML."""
    return [chunk.split("</tr>", 1)[0] for chunk in body.split('<tr class="console-record"')[1:]]


def position(row: str) -> tuple[int, int]:
    found = re.search(r'data-partition="(\d+)" data-offset="(\d+)"', row)
    return int(found.group(1)), int(found.group(2))


def page_messages(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


def test_a_record_is_on_the_records_page_and_found_by_its_key(console, stack):
    topic = create_topic(stack.kafka, partitions=3)
    key = str(uuid.uuid4())
    others = [{"key": f"other-{n}".encode(), "value": json.dumps({"n": n}).encode()} for n in range(30)]
    mine = {"key": key.encode(), "value": json.dumps({"subject": key, "message": "<b>Hi</b>"}).encode()}
    produce(stack.kafka, topic, [*others[:15], {**mine, "headers": [("trace", b"console-test")]}, *others[15:]])

    body = console.get(reverse("console:records"), {"topic": topic}).content.decode()
    assert "The latest 31 records of " in body
    [row] = [row for row in rows(body) if key in row]
    assert "&quot;message&quot;: &quot;&lt;b&gt;Hi&lt;/b&gt;&quot;" in row  # pretty-printed JSON, escaped
    assert "<code>trace</code>: console-test" in row
    partition, offset = position(row)

    one = console.get(reverse("console:records"), {"topic": topic, "partition": partition, "limit": 5})
    assert all(position(row)[0] == partition for row in rows(one.content.decode()))

    found = console.get(reverse("console:search"), {"topic": topic, "key": key}).content.decode()
    assert f"1 record with key {key} in {topic}" in found
    assert [position(row) for row in rows(found)] == [(partition, offset)]
    assert reverse("admin:intake_submission_change", args=[key]) in found
    assert "at most 10000 records per partition" in found


def poll_records(consumer: Consumer, count: int) -> list:
    read = []

    def enough() -> bool:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            read.append(message)
        return len(read) >= count

    wait_until(enough, timeout=30, what=f"{count} records for the group")
    return read


def test_a_consumer_groups_committed_offsets_and_lag_are_on_the_groups_page(console, stack):
    topic = create_topic(stack.kafka, partitions=1)
    produce(stack.kafka, topic, [{"key": b"k", "value": f"record {n}".encode()} for n in range(5)])
    group = f"console-test-{uuid.uuid4().hex[:10]}"
    consumer = Consumer(
        stack.kafka.confluent(**{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    )
    consumer.subscribe([topic])
    try:
        read = poll_records(consumer, 2)
        consumer.commit(message=read[1], asynchronous=False)  # offset 2 of 5: lag 3
    finally:
        consumer.close()

    body = console.get(reverse("console:groups")).content.decode()
    section = body.split(f'data-group="{group}"', 1)[1].split("</div>", 1)[0]
    assert '<strong class="group-state">EMPTY</strong>' in section
    assert '<span class="group-members">0</span> members' in section
    row = section.split(f'<tr data-topic="{topic}" data-partition="0">', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r">\s*(\d+)\s*</td>", row) == ["0", "2", "5", "3"]  # partition, committed, end, lag

    # The stack's bridge is a live member of its group (it may still be joining just after start-up).
    def bridge_group() -> str | None:
        page = console.get(reverse("console:groups")).content.decode()
        found = page.split('data-group="bridge"', 1)[1].split("</div>", 1)[0] if 'data-group="bridge"' in page else ""
        return found if '<strong class="group-state">STABLE</strong>' in found else None

    bridge = wait_until(bridge_group, timeout=60, interval=1, what="the bridge's group, stable")
    assert '<span class="group-members">1</span> member' in bridge


def dead_letters(console, key: str) -> list[str]:
    body = console.get(reverse("console:dlq"), {"limit": 500}).content.decode()
    return [row for row in rows(body) if f'<td class="record-key">{key}</td>' in row]


def replay(console, row: str) -> str:
    """Press a dead letter's Replay button; returns where the copy went (topic[partition]@offset)."""
    partition, offset = position(row)
    response = console.post(reverse("console:dlq-replay"), {"partition": partition, "offset": offset})
    assert response.status_code == 302
    message = page_messages(response)[-1]  # after any not shown yet (the redirect is not followed)
    assert message.startswith("Replayed ") and f".dlq[{partition}]@{offset} to " in message, message
    return message.rsplit(" to ", 1)[1].rstrip(".")


def test_a_bad_record_is_on_the_dead_letter_page_with_its_reason_and_a_replay_parks_it_once_more(console, stack):
    key = f"poison-{uuid.uuid4().hex[:10]}"
    produce(stack.kafka, stack.topic, [{"key": key.encode(), "value": b"not json {"}])

    [parked] = wait_until(lambda: dead_letters(console, key), timeout=60, interval=0.5, what="the dead letter")
    assert '<strong class="dlq-reason">undecodable: value is not JSON' in parked
    assert f"from {stack.topic}[" in parked

    target = replay(console, parked)  # still bad: the bridge parks the replayed copy, once
    again = wait_until(
        lambda: (lambda found: found if len(found) == 2 else None)(dead_letters(console, key)),
        timeout=60,
        interval=0.5,
        what="the replayed record parked again",
    )
    assert f"from {target}" in again[0]  # newest first: the copy names the replayed record as its source
    wait_until(lambda: bridge_caught_up(stack), timeout=60, interval=0.5, what="the bridge to catch up")
    assert len(dead_letters(console, key)) == 2  # parked again once; the replay does not loop


class NeverDelivered:
    """The parts of a consumed record that the bridge's DeadLetters reads: an event that was parked
    before the bridge handed it off (as a bridge without its route would have)."""

    def __init__(self, topic: str, key: bytes, value: bytes):
        self._topic, self._key, self._value = topic, key, value

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return -1

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list:
        return []

    def timestamp(self) -> tuple[int, int]:
        return (0, -1)  # TIMESTAMP_NOT_AVAILABLE: the parked copy gets the time it is parked


def submission_only_in_the_database(stack, email: str) -> dict:
    """A submission whose event Kafka never got: its outbox row is marked published in the same
    transaction, so the relay leaves it alone. Returns its id, access token, event id and payload."""
    code = textwrap.dedent(
        f"""
        import json
        from django.db import transaction
        from django.utils import timezone
        from intake.services import submission_create
        from outbox.models import OutboxEvent
        with transaction.atomic():
            submission = submission_create(name="Grace Hopper", email={email!r}, message="Parked, then replayed")
            rows = OutboxEvent.objects.filter(key=str(submission.id))
            row = rows.get()
            rows.update(published_at=timezone.now())
        print(json.dumps({{"id": str(submission.id), "access_token": submission.access_token,
                          "event_id": str(row.id), "payload": row.payload}}))
        """
    )
    cmd = [str(BIN / "python"), "manage.py", "shell", "-c", code]
    done = subprocess.run(cmd, env=stack.env, cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_replayed_dead_letter_is_processed_once_however_often_it_is_replayed(console, stack):
    email = f"replayed-{uuid.uuid4().hex[:10]}@example.org"
    created = submission_only_in_the_database(stack, email)
    remember_token(created)
    producer = Producer(stack.kafka.confluent(acks="all"))
    record = NeverDelivered(stack.topic, created["id"].encode(), created["payload"].encode())
    DeadLetters(producer).park(record, "no route for ContactFormSubmitted v1")

    [parked] = wait_until(lambda: dead_letters(console, created["id"]), timeout=30, interval=0.5, what="the letter")
    assert '<strong class="dlq-reason">no route for ContactFormSubmitted v1</strong>' in parked
    assert "<strong>ContactFormSubmitted</strong>" in parked

    replay(console, parked)
    assert final_state(stack, created["id"])["status"] == "COMPLETED"
    wait_until(lambda: emails_to(stack, email), what="the confirmation email")
    handed_off = [e for e in read_submission(stack, created["id"])["timeline"] if e["type"] == "ContactFormSubmitted"]
    assert handed_off[0]["delivered_at"] is not None  # the bridge handed the replayed event off
    assert stack.redis().exists(f"bridge:handoff:{created['event_id']}")

    replay(console, parked)  # pressed again: the bridge knows the event id and starts nothing
    found = console.get(reverse("console:search"), {"key": created["id"]}).content.decode()
    assert found.count("<code>dlq_replayed_from</code>") == 2
    wait_until(lambda: bridge_caught_up(stack), timeout=60, interval=0.5, what="the bridge to catch up")
    assert len(emails_to(stack, email)) == 1
    assert len(crm_leads(stack, created["id"])) == 1
    state = read_submission(stack, created["id"])
    entries = [e for e in state["timeline"] if e["type"] == "ContactFormSubmitted"]
    assert len(entries) == 1 and entries[0]["delivered_at"] == handed_off[0]["delivered_at"]
    assert [e["type"] for e in state["timeline"]].count("WorkflowCompleted") == 1


def test_the_running_api_serves_the_console_to_staff_and_runs_the_bridges_replay(stack):
    anonymous = requests.get(f"{stack.api}/admin/console/dlq/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/admin/login/?next=/admin/console/dlq/")

    username, password = f"ops-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    create = (
        f"from django.contrib.auth.models import User; User.objects.create_superuser({username!r}, None, {password!r})"
    )
    stack.manage("shell", "-c", create)
    browser = requests.Session()
    browser.get(f"{stack.api}/admin/login/", timeout=10)
    login = {"username": username, "password": password, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    browser.post(f"{stack.api}/admin/login/?next=/admin/", data=login, timeout=10).raise_for_status()

    page = browser.get(f"{stack.api}/admin/console/dlq/", timeout=30)
    assert page.status_code == 200 and "events.contact_form.dlq" in page.text
    # The API runs from backend/ (gunicorn --chdir backend): the bridge's replay is imported all the same.
    token = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    replayed = browser.post(f"{stack.api}/admin/console/dlq/replay-all/", data=token, timeout=30)
    assert replayed.status_code == 200 and replayed.url.endswith("/admin/console/dlq/")
    done = re.search(r"Replayed (\d+) dead letter\(s\) parked since the last replay\.", replayed.text)
    assert done, "no replay report on the page"
