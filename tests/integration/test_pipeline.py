"""One submission through real servers: broker, Redis, SMTP catcher, CRM, workers, relay, bridge, API."""

import json
import uuid

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition
from kafka import KafkaProducer

from tests.conftest import crm_leads, emails_to, events_for, final_state, read_topic, submit
from tests.servers import read_submission, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]


def unique_email() -> str:
    return f"visitor-{uuid.uuid4().hex[:12]}@example.org"


def test_submission_sends_one_email_creates_the_lead_and_publishes_its_events(stack):
    email = unique_email()
    created = submit(stack, email=email, name="Ada <Lovelace>", message="Line one\nuses <b>tags</b> & more")

    state = final_state(stack, created["id"])
    assert state["status"] == "COMPLETED"

    mails = wait_until(lambda: emails_to(stack, email), what="the confirmation email")
    assert len(mails) == 1
    mail = mails[0]
    assert "Ada &lt;Lovelace&gt;" in mail["html"]
    assert "uses &lt;b&gt;tags&lt;/b&gt; &amp; more" in mail["html"]
    assert "Ada <Lovelace>" in mail["text"] and "uses <b>tags</b> & more" in mail["text"]
    assert mail["subject"] == "We received your message"  # fixed: no visitor text in a header

    leads = crm_leads(stack, created["id"])
    assert len(leads) == 1 and leads[0]["email"] == email and leads[0]["owner"]

    types = wait_until(
        lambda: (
            lambda found: (
                found if {"ContactFormSubmitted", "EmailDispatched", "WorkflowCompleted"} <= set(found) else None
            )
        )([event["value"]["type"] for event in events_for(stack.kafka, stack.topic, created["id"])]),
        what="the events in the topic",
    )
    assert types.count("ContactFormSubmitted") == 1
    records = events_for(stack.kafka, stack.topic, created["id"])
    assert {record["key"] for record in records} == {created["id"].encode()}
    assert len({record["partition"] for record in records}) == 1  # one key, one partition: ordered
    assert {record["value"]["correlationid"] for record in records} == {state["correlation_id"]}

    timeline_types = [entry["type"] for entry in state["timeline"]]
    assert timeline_types[0] == "ContactFormSubmitted"
    assert {"EmailDispatched", "WorkflowCompleted"} <= set(timeline_types)
    steps = [entry["data"]["step"] for entry in state["timeline"] if entry["type"] == "WorkflowStepCompleted"]
    assert steps == ["tag_lead", "assign_owner", "create_crm_lead"]
    times = [entry["time"] for entry in state["timeline"]]
    assert times == sorted(times)
    assert state["published_at"] is not None
    assert state["timeline"][0]["delivered_at"] is not None


def test_crm_failure_compensates_in_reverse_order_and_still_sends_the_email_once(stack):
    email = unique_email()
    created = submit(stack, email=email, demo_fail_at="create_crm_lead")

    state = final_state(stack, created["id"])
    assert state["status"] == "COMPENSATED"
    assert state["workflow_status"] == "COMPENSATED"

    workflow = [
        (entry["type"], entry["data"].get("step"))
        for entry in state["timeline"]
        if entry["type"].startswith("Workflow")
    ]
    assert workflow == [
        ("WorkflowStepCompleted", "tag_lead"),
        ("WorkflowStepCompleted", "assign_owner"),
        ("WorkflowStepFailed", "create_crm_lead"),
        ("WorkflowStepCompensated", "create_crm_lead"),
        ("WorkflowStepCompensated", "assign_owner"),
        ("WorkflowStepCompensated", "tag_lead"),
        ("WorkflowCompensated", None),
    ]
    compensated = (
        state["timeline"][-1]
        if state["timeline"][-1]["type"] == "WorkflowCompensated"
        else next(entry for entry in state["timeline"] if entry["type"] == "WorkflowCompensated")
    )
    assert compensated["data"]["failed_step"] == "create_crm_lead"
    assert "503" in compensated["data"]["reason"]
    assert compensated["data"]["compensated_steps"] == ["create_crm_lead", "assign_owner", "tag_lead"]

    assert crm_leads(stack, created["id"]) == []
    assert len(wait_until(lambda: emails_to(stack, email), what="the confirmation email")) == 1


def test_failure_at_assign_owner_undoes_only_the_tag(stack):
    created = submit(stack, email=unique_email(), demo_fail_at="assign_owner")
    state = final_state(stack, created["id"])
    assert state["status"] == "COMPENSATED"
    undone = [entry["data"]["step"] for entry in state["timeline"] if entry["type"] == "WorkflowStepCompensated"]
    assert undone == ["tag_lead"]
    assert crm_leads(stack, created["id"]) == []


def _bridge_settled(stack, upto: dict[int, int]) -> bool:
    """True once the bridge's group committed past `upto` (partition → offset) and Celery is idle."""
    # An offset fetch for the group; this consumer never subscribes, so it does not join the group.
    reader = Consumer(stack.kafka.confluent(**{"group.id": "bridge", "enable.auto.commit": False}))
    try:
        committed = reader.committed([TopicPartition(stack.topic, p) for p in upto], timeout=5)
    finally:
        reader.close()
    for tp in committed:
        if tp.offset <= upto[tp.partition]:
            return False
    # Nothing queued, and nothing in flight: every task that matters here is acks_late, so a task
    # being executed sits in the transport's "unacked" hash until it returns.
    client = stack.redis()
    return client.llen("mail") == 0 and client.llen("workflow") == 0 and client.hlen("unacked") == 0


@pytest.mark.parametrize("forget_handoffs", [False, True], ids=["bridge-dedupes", "tasks-dedupe"])
def test_same_event_delivered_twice_sends_one_email_and_creates_one_lead(stack, forget_handoffs):
    email = unique_email()
    created = submit(stack, email=email)
    final_state(stack, created["id"])
    original = next(
        event
        for event in events_for(stack.kafka, stack.topic, created["id"])
        if event["value"]["type"] == "ContactFormSubmitted"
    )
    if forget_handoffs:
        # Without the bridge's memory the duplicates reach the tasks, which must absorb them.
        stack.redis().delete(f"bridge:handoff:{original['value']['id']}")

    producer = KafkaProducer(**stack.kafka.kafka_python())
    sent = []
    for _ in range(2):
        meta = producer.send(
            stack.topic, key=original["key"], value=original["raw"], partition=original["partition"]
        ).get(10)
        sent.append(meta.offset)
    producer.close()

    wait_until(
        lambda: _bridge_settled(stack, {original["partition"]: max(sent)}), timeout=60, what="the bridge to settle"
    )
    assert len(emails_to(stack, email)) == 1
    assert len(crm_leads(stack, created["id"])) == 1
    state = read_submission(stack, created["id"])
    assert [entry["type"] for entry in state["timeline"]].count("ContactFormSubmitted") == 1
    assert [entry["type"] for entry in state["timeline"]].count("WorkflowCompleted") == 1


def test_undecodable_and_unknown_records_go_to_the_dlq_with_a_reason(stack):
    producer = KafkaProducer(**stack.kafka.kafka_python())
    marker = uuid.uuid4().hex
    producer.send(stack.topic, key=b"garbage", value=f"not json {marker}".encode()).get(10)
    unknown = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "test",
        "type": "SomethingElse",
        "time": "2026-01-01T00:00:00Z",
        "subject": marker,
        "dataversion": 1,
        "correlationid": marker,
        "data": {},
    }
    producer.send(stack.topic, key=marker.encode(), value=json.dumps(unknown).encode()).get(10)
    producer.close()

    def parked():
        records = read_topic(stack.kafka, f"{stack.topic}.dlq")
        mine = [r for r in records if marker.encode() in (r["raw"] or b"") or r["key"] == marker.encode()]
        return mine if len(mine) == 2 else None

    reasons = sorted(record["headers"]["dlq_reason"].decode() for record in wait_until(parked, what="two DLQ records"))
    assert reasons[0] == "no route: unknown event type 'SomethingElse' version 1"
    assert reasons[1].startswith("undecodable: value is not JSON")

    # The loop survived them: a new submission still goes through.
    created = submit(stack, email=unique_email())
    assert final_state(stack, created["id"])["status"] == "COMPLETED"

    # After a fix, an operator sends the dead letters back to their topic, each once.
    import subprocess
    import sys

    from tests.servers import REPO

    def replay() -> str:
        cmd = [sys.executable, "-m", "bridge", "replay-dlq"]
        return subprocess.run(cmd, env=stack.env, cwd=REPO, capture_output=True, text=True, check=True).stdout

    assert int(replay().split()[0]) >= 2
    back = [r for r in read_topic(stack.kafka, stack.topic) if "dlq_replayed_from" in r["headers"]]
    assert {r["key"] for r in back} >= {b"garbage", marker.encode()}


def test_rejected_submission_gets_field_messages_and_publishes_nothing(stack):
    response = requests.post(
        f"{stack.api}/api/submissions/", json={"name": " ", "email": "nope", "message": "x" * 5001}, timeout=5
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"name", "email", "message"}
    assert "5000" in body["message"][0]


def test_an_oversized_body_gets_a_json_413_and_the_connection_stays_usable(stack):
    import http.client

    host, port = stack.api.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    big = json.dumps({"name": "Big", "email": "big@example.org", "message": "x" * 3_000_000})
    connection.request("POST", "/api/submissions/", body=big, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 413
    assert "larger than the limit" in json.loads(response.read())["detail"]

    small = json.dumps({"name": "Small", "email": unique_email(), "message": "fits"})
    connection.request("POST", "/api/submissions/", body=small, headers={"Content-Type": "application/json"})
    again = connection.getresponse()  # the same keep-alive connection
    assert again.status == 201, again.read()
    connection.close()
