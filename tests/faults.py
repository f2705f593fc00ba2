"""The fault suite: bounded load through the public API, one fault per case, then every accepted
submission must end (final state), with one email and no duplicate CRM lead.

    .venv/bin/python -m tests.faults [--count 300] [--rate 30] [CASE ...]     (./deploy.sh chaos N)

pytest runs every case at 100 submissions (tests/integration/test_faults.py); run by hand it prints
one line per case. Each case: the load starts, the fault hits FAULT_AT seconds in, the service comes
back (supervisord's part in a deployment), and the suite waits on conditions until every accepted
submission is final or the deadline passes.
"""

import argparse
import itertools
import json
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import requests
from kafka import KafkaProducer

from tests.servers import Stack, hold_until, port_open, read_submission, remember_token, wait_until

FAULT_AT = 1.0  # seconds into the load
FINAL = ("COMPLETED", "COMPENSATED", "COMPENSATION_FAILED", "FAILED")
# The stack the suite runs on: production's retry horizons, shortened where a test would wait for minutes.
FAULT_ENV = {
    "TASK_MAX_RETRIES": "12",  # 1+2+4+8+8×10 s: a 95 s horizon for the 60 s CRM outage
    "TASK_RETRY_BACKOFF_MAX": "10",
    "OUTBOX_CLAIM_SECONDS": "10",
    "SMTP_TIMEOUT": "5",
    "CRM_API_TIMEOUT": "3",
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Case:
    name: str
    # Does the damage and, where the case says so, the repair; what it returns (a str) is noted.
    fault: Callable[[Stack], str | None]
    expect: str = "COMPLETED"
    # Runs before the load starts: the state the fault needs (e.g. one bridge of two stopped).
    prepare: Callable[[Stack], None] | None = None
    # The load goes on (at the same pace) until the fault is over, however long that takes.
    load_through_fault: bool = False
    # A fault that is a state of the world (a CRM that refuses) holds from before the load until
    # every submission is final; `repair` then ends it, before anything is counted.
    before_load: bool = False
    repair: Callable[[Stack], None] | None = None
    # Seconds of load the API itself may refuse (only while the API is the thing that is down).
    refusal_allowed_seconds: float = 0.0
    demo_fail_at: str = ""
    deadline: float = 240.0
    # Seconds after the repair by which the last email must have arrived (a dead worker's sends taken over).
    last_email_within: float | None = None


@dataclass
class Outcome:
    case: str
    accepted: int = 0
    refused: int = 0
    emails: int = 0
    duplicate_emails: int = 0
    missing_emails: int = 0
    leads: int = 0
    duplicate_leads: int = 0
    missing_leads: int = 0
    finals: Counter = field(default_factory=Counter)
    unexpected_finals: int = 0
    unfinished: int = 0
    too_many_refused: bool = False
    recovery_seconds: float = 0.0
    last_email_after_repair: float = 0.0  # seconds from the fault's repair to the last email's arrival
    late_last_email: bool = False
    longest_pause: float | None = None  # the longest gap between two completions of the case's submissions
    slowest: float | None = None  # the longest from a 201 to its workflow's end, among the case's submissions
    fault_error: str = ""  # the fault itself raised: the case did not test what it says
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (
            self.duplicate_emails
            or self.missing_emails
            or self.duplicate_leads
            or self.missing_leads
            or self.unfinished
            or self.unexpected_finals
            or self.too_many_refused
            or self.late_last_email
            or self.fault_error
        )

    def line(self) -> str:
        finals = " ".join(f"{kind}={n}" for kind, n in sorted(self.finals.items()))
        return (
            f"{self.case:<20} accepted={self.accepted:<4} refused={self.refused:<3} emails={self.emails:<4} "
            f"dup_emails={self.duplicate_emails} missing_emails={self.missing_emails} leads={self.leads:<4} "
            f"dup_leads={self.duplicate_leads} missing_leads={self.missing_leads} {finals} unfinished={self.unfinished} "
            f"recovered_to_last_final={self.recovery_seconds:.1f}s last_email_after_repair={self.last_email_after_repair:.1f}s"
            + (f" longest_pause={self.longest_pause:.1f}s" if self.longest_pause is not None else "")
            + (f" slowest={self.slowest:.1f}s" if self.slowest is not None else "")
            + (f" ({'; '.join(self.notes)})" if self.notes else "")
        )


# --- the faults ------------------------------------------------------------------------------------


def kill_and_restart(name: str, start: Callable[[Stack], None], down_for: float = 0.0):
    """SIGKILL `name`; once it is gone, start it again (after `down_for` seconds of outage, if any)."""

    def fault(stack: Stack) -> None:
        stack.procs.kill(name)  # returns once the process has exited
        hold_until(time.monotonic() + down_for)
        start(stack)

    return fault


def kill_workers(stack: Stack) -> None:
    """SIGKILL both Celery workers (mail and workflow) mid-load; start them again and wait until they
    are up (their /metrics answers): the restart is over from then on."""
    stack.procs.kill("mailer")
    stack.procs.kill("workflow-agent")
    stack.start_workers()
    for name in ("metrics_mailer", "metrics_workflow_agent"):
        wait_until(lambda port=stack.ports[name]: port_open(port), timeout=60, what=f"{name} after the restart")


def kill_api_master(stack: Stack) -> None:
    """SIGKILL gunicorn's master alone: its workers live on for a moment, holding the port."""
    stack.procs.kill("api", group=False)  # returns once the master has exited
    stack.start_api()


def stop_for(name: str, start: Callable[[Stack], None], seconds: float):
    def fault(stack: Stack) -> None:
        stack.procs.stop(name)
        hold_until(time.monotonic() + seconds)  # the outage's length is the case's definition
        start(stack)

    return fault


def freeze_for(name: str, seconds: float):
    """SIGSTOP `name` (it holds its connections and answers nothing, as a hung server does), then SIGCONT."""

    def fault(stack: Stack) -> None:
        stack.procs.signal(name, signal.SIGSTOP)
        try:
            hold_until(time.monotonic() + seconds)  # the freeze's length is the case's definition
        finally:
            stack.procs.signal(name, signal.SIGCONT)

    return fault


def restart_crm(stack: Stack) -> None:
    stack.procs.stop("crm")
    stack.start_crm()


def crm_answering(status: int, methods: str):
    """The CRM restarted to refuse `methods` with `status` (a 4xx is final); repaired by restart_crm."""

    def fault(stack: Stack) -> None:
        stack.procs.stop("crm")
        stack.start_crm(CRM_FAIL_RATE="1", CRM_FAIL_STATUS=str(status), CRM_FAIL_METHODS=methods)

    return fault


def poison(stack: Stack) -> None:
    """Records no producer of ours would write, mixed into the topic between good events."""
    good = {"specversion": "1.0", "source": "urn:chaos", "time": "2026-01-01T00:00:00Z", "correlationid": "c"}
    unknown_submission = str(uuid.uuid4())
    records = [
        b"not json at all",
        b"[" * 50_000 + b"]" * 50_000,
        json.dumps({**good, "id": str(uuid.uuid4()), "type": "ContactFormSubmitted", "subject": "x", "data": {}})
        .encode()
        .replace(b'"data"', b'"dataversion": 1e400, "data"'),
        json.dumps(
            {**good, "id": str(uuid.uuid4()), "type": "NoSuchEvent", "subject": "x", "dataversion": 1, "data": {}}
        ).encode(),
        json.dumps(
            {
                **good,
                "id": str(uuid.uuid4()),
                "type": "EmailDispatched",
                "subject": "x",
                "dataversion": 1,
                "data": {"submission_id": "x"},
            }
        ).encode(),
        json.dumps(
            {
                **good,
                "id": str(uuid.uuid4()),
                "type": "ContactFormSubmitted",
                "subject": unknown_submission,
                "dataversion": 1,
                "data": {
                    "submission_id": unknown_submission,
                    "name": "Nobody",
                    "email": "nobody@example.org",
                    "message": "?",
                },
            }
        ).encode(),
    ]
    producer = KafkaProducer(**stack.kafka.kafka_python())
    try:
        for n, value in enumerate(records):
            producer.send(stack.topic, key=f"poison-{n}".encode(), value=value)
        producer.flush(10)
    finally:
        producer.close()


CASES = {
    case.name: case
    for case in (
        Case("workers-sigkill", kill_workers, last_email_within=15.0),
        Case("bridge-sigkill", kill_and_restart("bridge", Stack.start_bridge)),
        Case("relay-sigkill", kill_and_restart("relay", Stack.start_relay)),
        Case("api-master-sigkill", kill_api_master, refusal_allowed_seconds=2.0),
        Case("broker-sigkill", kill_and_restart("kafka", Stack.start_kafka, down_for=5.0)),
        Case("redis-sigkill", kill_and_restart("redis", Stack.start_redis)),
        Case("smtp-down-60s", stop_for("smtp", Stack.start_smtp, 60.0)),
        Case("smtp-frozen-60s", freeze_for("smtp", 60.0)),
        Case("crm-down-60s", stop_for("crm", Stack.start_crm, 60.0)),
        Case(
            "crm-refuses-creates",
            crm_answering(422, "POST"),
            expect="COMPENSATED",
            before_load=True,
            repair=restart_crm,
        ),
        Case("poison-records", poison),
        Case(
            "compensation-fails",
            crm_answering(422, "GET,POST,DELETE"),
            expect="COMPENSATION_FAILED",
            before_load=True,
            repair=restart_crm,
        ),
    )
}


# --- one case --------------------------------------------------------------------------------------


def _post(stack: Stack, email: str, demo_fail_at: str) -> str | None:
    body = {"name": "Chaos", "email": email, "company": "Faults Ltd", "message": "fault suite"}
    if demo_fail_at:
        body["demo_fail_at"] = demo_fail_at
    try:
        response = requests.post(f"{stack.api}/api/submissions/", json=body, timeout=10)
    except requests.RequestException:
        return None
    return remember_token(response.json())["id"] if response.status_code == 201 else None


def _status(stack: Stack, submission_id: str) -> str:
    return read_submission(stack, submission_id, timeout=10)["status"]


def run_case(stack: Stack, case: Case, count: int = 100, rate: float = 30.0) -> Outcome:
    """Load, fault, repair, wait for every accepted submission to be final; count what happened."""
    outcome = Outcome(case.name)
    tag = uuid.uuid4().hex[:8]
    accepted: dict[str, str] = {}  # submission id -> email
    accepted_at: dict[str, float] = {}  # submission id -> when its 201 came (wall clock, as finished_at)
    seen_restarts = dict(getattr(stack, "restarts", {}))
    if case.prepare:
        case.prepare(stack)
    if case.before_load:
        case.fault(stack)
    started = time.monotonic()

    repaired_at = [time.time()]  # wall clock, as maildev stamps each email's arrival

    def fault() -> None:
        if not case.before_load:
            hold_until(started + FAULT_AT)
            try:
                said = case.fault(stack)
            except Exception as exc:  # the fault did not happen as the case says: the case fails
                outcome.fault_error = f"{type(exc).__name__}: {exc}"
                said = f"the fault failed: {outcome.fault_error}"
            repaired_at[0] = time.time()
            if said:
                outcome.notes.append(said)

    hitter = threading.Thread(target=fault, name=f"fault-{case.name}")
    hitter.start()
    for n in itertools.count():
        if n >= count and not (case.load_through_fault and hitter.is_alive()):
            break
        hold_until(started + n / rate)  # pace the load
        email = f"{case.name}-{tag}-{n}@example.org"
        submission_id = _post(stack, email, case.demo_fail_at)
        if submission_id:
            accepted[submission_id] = email
            accepted_at[submission_id] = time.time()
        else:
            outcome.refused += 1
    hitter.join()
    recovered_at = time.monotonic()
    outcome.accepted = len(accepted)
    outcome.too_many_refused = outcome.refused > case.refusal_allowed_seconds * rate

    statuses: dict[str, str] = {}

    def all_final() -> bool:
        for submission_id in [s for s in accepted if s not in statuses]:
            status = _status(stack, submission_id)
            if status in FINAL:
                statuses[submission_id] = status
        return len(statuses) == len(accepted)

    try:
        wait_until(all_final, timeout=case.deadline, interval=0.5, what=f"{case.name}: every submission final")
    except TimeoutError:
        outcome.notes.append("deadline passed")
    outcome.recovery_seconds = time.monotonic() - recovered_at
    outcome.unfinished = len(accepted) - len(statuses)
    restarted = {name: n for name, n in getattr(stack, "restarts", {}).items() if n > seen_restarts.get(name, 0)}
    outcome.notes += [f"supervisor restarted {name}" for name in restarted]
    if hasattr(stack, "completion_times"):
        finished_at = stack.completion_times(set(statuses))
        finished = sorted(finished_at.values())
        outcome.longest_pause = max((b - a for a, b in itertools.pairwise(finished)), default=0.0)
        outcome.slowest = max((at - accepted_at[sid] for sid, at in finished_at.items()), default=0.0)
    outcome.finals = Counter(statuses.values())
    outcome.unexpected_finals = sum(n for kind, n in outcome.finals.items() if kind != case.expect)
    if case.repair:
        case.repair(stack)
    _count_emails(stack, accepted, outcome, repaired_at[0])
    if case.last_email_within is not None:
        outcome.late_last_email = outcome.last_email_after_repair > case.last_email_within
        outcome.notes += [f"last email later than {case.last_email_within:.0f} s"] if outcome.late_last_email else []
    _count_leads(stack, accepted, statuses, outcome)
    return outcome


def _count_emails(stack: Stack, accepted: dict[str, str], outcome: Outcome, repaired_at: float) -> None:
    """Emails per accepted address (the mailer runs whatever the workflow does), and when the last came."""
    wanted = set(accepted.values())
    arrivals: list[float] = []

    def per_address() -> Counter:
        mails = requests.get(f"{stack.maildev}/api/email", timeout=30).json()
        ours = [mail for mail in mails if any(to["address"] in wanted for to in mail["to"])]
        arrivals[:] = [datetime.fromisoformat(mail["time"].replace("Z", "+00:00")).timestamp() for mail in ours]
        return Counter(to["address"] for mail in ours for to in mail["to"] if to["address"] in wanted)

    try:
        counts = wait_until(
            lambda: (lambda c: c if set(c) >= wanted else None)(per_address()), timeout=60, interval=0.5
        )
    except TimeoutError:
        counts = per_address()
    outcome.last_email_after_repair = max(0.0, max(arrivals, default=repaired_at) - repaired_at)
    outcome.emails = sum(counts.values())
    outcome.duplicate_emails = sum(n - 1 for n in counts.values() if n > 1)
    outcome.missing_emails = len(wanted - set(counts))


def _count_leads(stack: Stack, accepted: dict[str, str], statuses: dict[str, str], outcome: Outcome) -> None:
    """Leads per submission: one for a COMPLETED one, none left by a compensated one, never two."""
    for submission_id in accepted:
        headers = {"Authorization": f"Bearer {stack.env['CRM_API_TOKEN']}"}
        leads = requests.get(
            f"{stack.crm}/leads/", params={"external_id": submission_id}, headers=headers, timeout=10
        ).json()["results"]
        outcome.leads += len(leads)
        outcome.duplicate_leads += max(0, len(leads) - 1)
        if statuses.get(submission_id) == "COMPLETED" and not leads:
            outcome.missing_leads += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"default: all of {', '.join(CASES)}")
    args = parser.parse_args()
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    stack = Stack(extra_env=FAULT_ENV)
    stack.start().supervise()
    failed = 0
    try:
        for name in args.cases or CASES:
            outcome = run_case(stack, CASES[name], args.count, args.rate)
            failed += not outcome.passed
            print(("PASS " if outcome.passed else "FAIL ") + outcome.line(), flush=True)
    finally:
        stack.stop()
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
