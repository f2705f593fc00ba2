"""Shared fixtures. The `stack` fixture starts the whole pipeline once per session, on free ports."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from tests.servers import KafkaAccess, Stack, read_submission, remember_token, wait_until

FIGURES: list[str] = []


def report_figure(line: str) -> None:
    """A measured figure, printed in the run's summary (the tests assert behaviour, not timings)."""
    FIGURES.append(line)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def stack():
    stack = Stack().start()
    report_figure(f"Kafka broker (session fixture, fresh log directory): ready in {stack.kafka_start_seconds[0]:.2f} s")
    yield stack
    stack.stop()


@pytest.fixture
def dump_logs_on_failure(request, stack):
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(stack.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def run_async(coro, timeout: float | None = None):
    """Run a coroutine to completion on a fresh event loop in its own thread (a test can run while
    another library keeps a loop running in the main thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coro, timeout) if timeout else coro).result()


def read_topic(kafka: KafkaAccess, topic: str) -> list[dict]:
    """Every record of a topic, read by an independent client (kafka-python), with parsed values."""
    consumer = KafkaConsumer(**kafka.kafka_python(group_id=None, enable_auto_commit=False))
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        records = []
        while True:
            batch = consumer.poll(timeout_ms=500)
            if not batch:
                return records
            for messages in batch.values():
                for msg in messages:
                    records.append(
                        {
                            "partition": msg.partition,
                            "offset": msg.offset,
                            "key": msg.key,
                            "raw": msg.value,
                            "headers": dict(msg.headers or []),
                        }
                    )
    finally:
        consumer.close()


def end_offsets(kafka: KafkaAccess, topic: str) -> dict[int, int]:
    """Each partition's end offset (high watermark), read by kafka-python."""
    consumer = KafkaConsumer(**kafka.kafka_python(group_id=None, enable_auto_commit=False))
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def committed_offsets(kafka: KafkaAccess, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (-1: none), read by kafka-python's admin client."""
    admin = KafkaAdminClient(**kafka.kafka_python())
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    partitions = end_offsets(kafka, topic)
    found = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
    return {partition: found.get(partition, -1) for partition in partitions}


def bridge_caught_up(stack: Stack) -> bool:
    """The bridge has committed every record of the topic (its lag is 0 on every partition)."""
    committed = committed_offsets(stack.kafka, "bridge", stack.topic)
    # A partition with no records has nothing to commit (-1 there means "nothing yet", which is all).
    return all(max(committed[p], 0) >= end for p, end in end_offsets(stack.kafka, stack.topic).items())


def events_for(kafka: KafkaAccess, topic: str, submission_id: str) -> list[dict]:
    found = []
    for record in read_topic(kafka, topic):
        try:
            value = json.loads(record["raw"])
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("subject") == submission_id:
            found.append({**record, "value": value})
    return found


def submit(stack: Stack, **overrides) -> dict:
    body = {"name": "Ada Lovelace", "email": "ada@example.org", "company": "Analytical Engines", "message": "Hello"}
    response = requests.post(f"{stack.api}/api/submissions/", json={**body, **overrides}, timeout=10)
    assert response.status_code == 201, response.text
    return remember_token(response.json())


def final_state(stack: Stack, submission_id: str, timeout: float = 60) -> dict:
    def done():
        state = read_submission(stack, submission_id)
        return state if state["status"] in ("COMPLETED", "COMPENSATED", "COMPENSATION_FAILED", "FAILED") else None

    return wait_until(done, timeout=timeout, what=f"submission {submission_id} to finish")


def emails_to(stack: Stack, address: str) -> list[dict]:
    emails = requests.get(f"{stack.maildev}/api/email", timeout=5).json()
    return [mail for mail in emails if any(to["address"] == address for to in mail["to"])]


def crm_leads(stack: Stack, submission_id: str) -> list[dict]:
    url, headers = f"{stack.crm}/leads/", {"Authorization": f"Bearer {stack.env['CRM_API_TOKEN']}"}
    return requests.get(url, params={"external_id": submission_id}, headers=headers, timeout=5).json()["results"]
