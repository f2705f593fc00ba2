"""What operators use: every process serves /metrics whose counters move when a submission goes
through, and writes JSON log lines that carry the submission's correlation id (`correlation_id`)."""

import json
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import final_state, submit
from tests.servers import free_port, read_submission, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]

BODY = {"name": "Ada Lovelace", "email": "ada@example.org", "message": "Hello"}
# Each process and where it serves /metrics (a Stack.ports name; the API on its own port).
SCRAPED = {
    "api": "api",
    "relay": "metrics_relay",
    "bridge": "metrics_bridge",
    "mailer": "metrics_mailer",
    "workflow-agent": "metrics_workflow_agent",
    "reconciler": "metrics_reconciler",
}


def scrape(stack, process: str) -> dict[tuple[str, frozenset], float]:
    """One process's samples: (name, labels) → value."""
    text = requests.get(f"http://127.0.0.1:{stack.ports[SCRAPED[process]]}/metrics", timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def names(samples: dict) -> set[str]:
    return {name for name, _ in samples}


def unique_email() -> str:
    return f"observed-{uuid.uuid4().hex[:12]}@example.org"


def json_lines(stack, process: str) -> list[dict]:
    """The lines of a process's log that are JSON objects (a Celery worker also prints its banner)."""
    found = []
    for line in stack.procs.log(process).splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            found.append(parsed)
    return found


def lines_about(stack, process: str, correlation_id: str) -> list[dict]:
    return [line for line in json_lines(stack, process) if line.get("correlation_id") == correlation_id]


def test_a_submission_moves_the_counters_of_every_process(stack):
    # The workers and the reconciler are not waited on at start: their ports open once they run.
    before = {
        process: wait_until(lambda p=process: scrape(stack, p), what=f"{process}'s /metrics") for process in SCRAPED
    }
    created = submit(stack, email=unique_email())
    refused = requests.post(f"{stack.api}/api/submissions/", json={**BODY, "website": "x"}, timeout=10)
    assert refused.status_code == 400
    assert final_state(stack, created["id"])["status"] == "COMPLETED"

    def moved(process: str, name: str, **labels: str) -> float:
        return sample(scrape(stack, process), name, **labels) - sample(before[process], name, **labels)

    expected = [
        ("api", "intake_submissions_total", {"outcome": "accepted", "reason": ""}),
        ("api", "intake_submissions_total", {"outcome": "rejected", "reason": "honeypot"}),
        ("api", "django_http_responses_total_by_status_total", {"status": "201"}),
        ("relay", "intake_events_published_total", {"type": "ContactFormSubmitted"}),
        ("relay", "intake_events_published_total", {"type": "WorkflowCompleted"}),
        ("relay", "intake_relay_lag_seconds_count", {}),
        ("bridge", "intake_bridge_records_total", {"outcome": "handed_off"}),
        ("bridge", "intake_bridge_records_total", {"outcome": "nothing_to_do"}),
        ("mailer", "intake_emails_total", {"outcome": "sent"}),
        ("mailer", "celery_tasks_total", {"task": "mailer.send_confirmation", "outcome": "success"}),
        ("mailer", "celery_task_duration_seconds_count", {"task": "mailer.send_confirmation"}),
        ("workflow-agent", "intake_workflows_total", {"outcome": "completed"}),
        ("workflow-agent", "celery_tasks_total", {"task": "workflow.create_crm_lead", "outcome": "success"}),
    ]

    def all_moved():
        return all(moved(process, name, **labels) >= 1 for process, name, labels in expected)

    # The last event reaches Kafka (and the bridge) a moment after the run is final in the database.
    wait_until(all_moved, timeout=30, interval=0.5, what="every process's counters to move")
    # Gauges: the backlog is counted on scrape, the lag by the bridge's loop, the queues by the reconciler.
    assert "intake_outbox_backlog" in names(scrape(stack, "relay"))
    wait_until(lambda: "intake_bridge_lag" in names(scrape(stack, "bridge")), timeout=15, what="the bridge's lag")
    assert ("intake_celery_queue_length", frozenset({("queue", "mail")})) in scrape(stack, "reconciler")


def test_each_process_logs_json_lines_with_the_submission_s_correlation_id(stack):
    created = submit(stack, email=unique_email())
    correlation_id = final_state(stack, created["id"])["correlation_id"]

    def logged_to_the_end():
        logged = {
            process: lines_about(stack, process, correlation_id)
            for process in ("api", "relay", "bridge", "mailer", "workflow-agent")
        }
        # The last event's publication and the last task's own line come a moment after the final state.
        relayed = {line.get("event_type") for line in logged["relay"]}
        last_step = any("workflow.create_crm_lead[" in line["message"] for line in logged["workflow-agent"])
        return logged if all(logged.values()) and "WorkflowCompleted" in relayed and last_step else None

    found = wait_until(logged_to_the_end, timeout=20, interval=0.5, what="the correlation id in every process's log")
    assert {line["path"] for line in found["api"]} >= {"/api/submissions/", f"/api/submissions/{created['id']}/"}
    assert {line["event_type"] for line in found["relay"]} >= {"ContactFormSubmitted", "WorkflowCompleted"}
    assert [line["submission_id"] for line in found["bridge"]] == [created["id"]]
    # Celery's own lines too, through the header the bridge and the chain's steps pass on.
    assert any(line["logger"] == "celery.app.trace" for line in found["mailer"])
    worker_lines = " ".join(line["message"] for line in found["workflow-agent"])
    assert all(f"workflow.{step}[" in worker_lines for step in ("tag_lead", "assign_owner", "create_crm_lead"))
    for process in ("api", "relay", "bridge", "mailer", "workflow-agent", "reconciler"):
        lines = json_lines(stack, process)
        assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines), process


def test_the_reconciler_re_drives_a_lost_hand_off_under_the_submission_s_correlation_id(stack):
    before = wait_until(lambda: scrape(stack, "reconciler"), what="the reconciler's /metrics")
    stack.procs.stop("bridge")  # the event reaches Kafka, and nobody hands it to Celery
    try:
        created = submit(stack, email=unique_email())
        # RECONCILE_STALL_SECONDS is 15 in the test stack: then the reconciler sends its tasks itself.
        state = final_state(stack, created["id"], timeout=90)
    finally:
        stack.start_bridge()
    assert state["status"] == "COMPLETED"
    correlation_id = state["correlation_id"]
    redriven = lines_about(stack, "reconciler", correlation_id)
    assert [line["submission_id"] for line in redriven] == [created["id"]]
    handoffs = {"kind": "handoffs"}
    after = scrape(stack, "reconciler")
    assert sample(after, "intake_reconciler_actions_total", **handoffs) > sample(
        before, "intake_reconciler_actions_total", **handoffs
    )
    # The tasks it sent run under the same id in the workers (no bridge touched this submission until now).
    assert wait_until(lambda: lines_about(stack, "mailer", correlation_id), timeout=10, what="the mailer's line")
    assert read_submission(stack, created["id"])["email_status"] == "SENT"


def test_the_api_adds_up_the_metrics_of_its_worker_processes(stack):
    name, port = "api-two-workers", free_port()
    url = stack.start_api(name=name, port=port, workers=2)
    try:
        for _ in range(12):  # each on a new connection, so both workers take some
            assert requests.get(f"{url}/api/submissions/{uuid.uuid4()}/", timeout=5).status_code == 404
        text = requests.get(f"{url}/metrics", timeout=5).text
    finally:
        stack.procs.stop(name)
    samples = {
        (s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }
    not_found = {"status": "404", "view": "submission-detail", "method": "GET"}
    assert sample(samples, "django_http_responses_total_by_status_view_method_total", **not_found) == 12
    workers = {path.stem.rsplit("_", 1)[1] for path in (stack.tmp / f"metrics-{name}").glob("counter_*.db")}
    assert len(workers) == 2, workers  # both wrote their numbers; /metrics added them up
