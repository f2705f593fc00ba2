"""Two relays at once (a standby that is also working, or more throughput) keep each submission's
events in the order they were written."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.conftest import final_state, read_topic, submit
from tests.servers import BIN, hold_until

pytestmark = pytest.mark.integration


def test_two_relays_under_load_publish_each_submissions_events_in_order(stack):
    stack.procs.stop("relay")
    # Small batches, so that both relays claim all the time and their batches interleave.
    env = {**stack.env, "OUTBOX_BATCH_SIZE": "3", "LOG_LEVEL": "INFO"}
    for name in ("relay-a", "relay-b"):
        stack.procs.start(name, [str(BIN / "python"), "manage.py", "relay"], env)
    try:
        start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:

            def paced(n: int) -> dict:
                hold_until(start + n / 40)  # the load's pace: about 40 submissions a second
                return submit(stack, email=f"relays-{n}-{time.monotonic_ns()}@example.org")

            created = list(pool.map(paced, range(120)))
        for submission in created:
            assert final_state(stack, submission["id"], timeout=120)["status"] == "COMPLETED"
    finally:
        for name in ("relay-a", "relay-b"):
            stack.procs.stop(name)
        stack.start_relay()
    published = {
        name: int(stack.procs.log(name).rsplit("relay stopped: ", 1)[1].split()[0]) for name in ("relay-a", "relay-b")
    }
    assert all(count > 0 for count in published.values()), published  # both took part

    wanted = {submission["id"] for submission in created}
    by_key: dict[str, list[dict]] = {}
    for record in sorted(read_topic(stack.kafka, stack.topic), key=lambda r: (r["partition"], r["offset"])):
        try:
            event = json.loads(record["raw"])
        except ValueError:
            continue  # other tests' poison records share the topic
        if isinstance(event, dict) and event.get("subject") in wanted:
            by_key.setdefault(event["subject"], []).append(event)
    assert set(by_key) == wanted
    for key, events in by_key.items():
        first_seen = list({event["id"]: event for event in reversed(events)}.values())[
            ::-1
        ]  # a redelivery is no reorder
        times = [datetime.fromisoformat(event["time"]) for event in first_seen]
        assert times == sorted(times), (key, [event["type"] for event in first_seen])
        assert first_seen[0]["type"] == "ContactFormSubmitted" and first_seen[-1]["type"] in (
            "EmailDispatched",
            "WorkflowCompleted",
        )
