"""Apache Kafka keeps what it acknowledged: a broker that is stopped or killed loses no record, no
committed offset and no submission, and the pipeline goes on by itself when it is back."""

import re
import threading
import time
import uuid

import pytest
import requests

from tests.conftest import (
    bridge_caught_up,
    committed_offsets,
    crm_leads,
    emails_to,
    final_state,
    read_topic,
    report_figure,
    submit,
)
from tests.servers import hold_until, port_open, read_submission, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]

LOAD_COUNT = 200
LOAD_RATE = 30.0  # submissions per second
KILL_AT = 3.0  # seconds into the load
RESTART_AFTER = 5.0  # seconds after the kill


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.org"


def outbox_published(stack, submission_id: str) -> bool:
    return read_submission(stack, submission_id)["published_at"] is not None


def record_keys(records: list[dict]) -> list[tuple]:
    return [(r["partition"], r["offset"], r["key"], r["raw"]) for r in records]


def test_submission_accepted_while_the_broker_is_down_completes_once_it_is_back(stack):
    stack.procs.stop("kafka")
    email = unique_email("down")
    created = submit(stack, email=email)  # the API needs only its database
    assert not outbox_published(stack, created["id"])

    stack.start_kafka()
    assert final_state(stack, created["id"], timeout=90)["status"] == "COMPLETED"
    assert len(emails_to(stack, email)) == 1 and len(crm_leads(stack, created["id"])) == 1
    # Every Kafka client in the bridge logged the outage in the log's own format: no raw librdkafka
    # line ("%3|1700000000.123|FAIL|...") on stderr. (Whether the idle dead-letter producer tries a
    # connection during the outage is librdkafka's choice: tests/unit/bridge/test_client_logs.py.)
    bridge_log = stack.procs.log("bridge").splitlines()
    assert not [line for line in bridge_log if re.match(r"%\d\|", line)]


def test_a_killed_broker_keeps_every_record_and_the_bridges_committed_offsets(stack):
    earlier = [{**submit(stack, email=email), "email": email} for email in map(unique_email, ["durable"] * 5)]
    for created in earlier:
        assert final_state(stack, created["id"])["status"] == "COMPLETED"
    wait_until(lambda: bridge_caught_up(stack), what="the bridge to commit every record")
    records_before = read_topic(stack.kafka, stack.topic)
    offsets_before = committed_offsets(stack.kafka, "bridge", stack.topic)
    assert records_before and sum(offsets_before.values()) == len(records_before)

    stack.procs.kill("kafka")  # SIGKILL: no controlled shutdown, no flush
    assert not port_open(int(stack.bootstrap.rsplit(":", 1)[1]))
    restart = stack.start_kafka()

    # An independent client reads every earlier record back, and the group's offsets are intact.
    assert record_keys(read_topic(stack.kafka, stack.topic)[: len(records_before)]) == record_keys(records_before)
    assert committed_offsets(stack.kafka, "bridge", stack.topic) == offsets_before

    later = [{**submit(stack, email=email), "email": email} for email in map(unique_email, ["after"] * 3)]
    for created in later:
        assert final_state(stack, created["id"], timeout=60)["status"] == "COMPLETED"
    wait_until(lambda: bridge_caught_up(stack), what="the bridge to commit the new records")
    for created in earlier + later:  # the earlier ones were not handed off again
        assert len(emails_to(stack, created["email"])) == 1
        assert len(crm_leads(stack, created["id"])) == 1
    report_figure(
        f"broker SIGKILL with {len(records_before)} records on disk: ready again in {restart:.2f} s, "
        f"0 records and 0 committed offsets lost"
    )


def test_broker_killed_under_load_every_submission_ends_once_without_a_manual_step(stack):
    addresses = [unique_email(f"load{n}") for n in range(LOAD_COUNT)]
    created: list[dict] = []
    restarted = threading.Event()
    timings: dict[str, float] = {}
    started = time.monotonic()

    def crash_and_restart():
        # The fault's schedule is time itself (3 s in, down for 5 s), not a condition.
        hold_until(started + KILL_AT)
        stack.procs.kill("kafka")
        timings["killed"] = time.monotonic() - started
        hold_until(time.monotonic() + RESTART_AFTER)
        timings["ready"] = stack.start_kafka()
        restarted.set()

    chaos = threading.Thread(target=crash_and_restart)
    chaos.start()
    try:
        for n, address in enumerate(addresses):
            hold_until(started + n / LOAD_RATE)  # pace the load at 30/s
            created.append(submit(stack, email=address))
    finally:
        chaos.join()
    assert restarted.is_set() and timings["killed"] < len(addresses) / LOAD_RATE

    pending = {c["id"]: c for c in created}
    statuses: dict[str, str] = {}

    def all_final():
        for submission_id in list(pending):
            state = read_submission(stack, submission_id, timeout=10)
            if state["status"] in ("COMPLETED", "COMPENSATED", "COMPENSATION_FAILED", "FAILED"):
                statuses[submission_id] = state["status"]
                del pending[submission_id]
        return not pending

    wait_until(all_final, timeout=240, interval=0.5, what=f"every submission to end ({len(pending)} left)")
    finished = time.monotonic() - started
    wait_until(lambda: bridge_caught_up(stack), timeout=60, what="the bridge to commit every record")
    mails = requests.get(f"{stack.maildev}/api/email", timeout=30).json()
    per_address = {address: 0 for address in addresses}
    for mail in mails:
        for to in mail["to"]:
            if to["address"] in per_address:
                per_address[to["address"]] += 1

    assert set(statuses.values()) == {"COMPLETED"}
    assert sorted(set(per_address.values())) == [1], {a: n for a, n in per_address.items() if n != 1}
    assert all(len(crm_leads(stack, c["id"])) == 1 for c in created)
    report_figure(
        f"broker SIGKILL {timings['killed']:.1f} s into {LOAD_COUNT} submissions at {LOAD_RATE:.0f}/s, "
        f"restarted {RESTART_AFTER:.0f} s later (ready in {timings['ready']:.2f} s): all {LOAD_COUNT} COMPLETED "
        f"{finished:.1f} s after the first POST, each with 1 email and 1 CRM lead"
    )
