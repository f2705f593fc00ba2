"""Nothing accepted is lost when the broker is down or forgets its data (the local broker keeps
everything in memory): the outbox holds the events and re-drives them."""

import uuid

import pytest

from tests.conftest import crm_leads, emails_to, final_state, submit
from tests.servers import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]


def outbox_published(stack, submission_id: str) -> bool:
    import requests

    return requests.get(f"{stack.api}/api/submissions/{submission_id}/", timeout=5).json()["published_at"] is not None


def test_submission_accepted_while_the_broker_is_down_completes_once_it_is_back(stack):
    stack.procs.stop("kafka")
    email = f"down-{uuid.uuid4().hex[:8]}@example.org"
    created = submit(stack, email=email)  # the API needs only its database
    assert not outbox_published(stack, created["id"])

    stack.start_kafka()  # empty: the relay must create the topic again
    assert final_state(stack, created["id"], timeout=90)["status"] == "COMPLETED"
    assert len(emails_to(stack, email)) == 1 and len(crm_leads(stack, created["id"])) == 1


def test_events_the_broker_lost_are_redriven_from_the_database(stack):
    stack.procs.stop("bridge")
    email = f"lost-{uuid.uuid4().hex[:8]}@example.org"
    created = submit(stack, email=email)
    wait_until(lambda: outbox_published(stack, created["id"]), what="the event to reach Kafka")

    stack.procs.stop("kafka")  # with it go the topic and the unread event
    stack.start_kafka()
    stack.start_bridge()
    stack.manage("redrive", "--older-than", "0")

    assert final_state(stack, created["id"], timeout=90)["status"] == "COMPLETED"
    assert len(emails_to(stack, email)) == 1 and len(crm_leads(stack, created["id"])) == 1
