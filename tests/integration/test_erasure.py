"""Erasure that reaches every copy: an independent Kafka client never sees a visitor's email, name or
message on the topic or its dead letters, and after `manage.py erase` nothing the stack keeps holds
them: not the pipeline's database (file and write-ahead log), not the CRM's, not a log line."""

import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import crm_leads, emails_to, final_state, read_topic, submit
from tests.servers import BIN, REPO, read_submission, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]


def person() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {
        "name": f"Erin Erasable {tag}",
        "email": f"erin-{tag}@example.org",
        "company": f"Shredders {tag}",
        "message": f"Please forget me, note {tag}",
    }


def files_holding(paths: list[Path], texts: list[str]) -> list[str]:
    """Which of these files hold any of the texts, in any letter case (as bytes, so a page a database
    freed is read too)."""
    found = []
    for path in paths:
        if path.exists():
            raw = path.read_bytes().lower()
            found += [f"{path.name}: {text!r}" for text in texts if text.lower().encode() in raw]
    return found


def test_kafka_never_carries_personal_data_and_erase_reaches_every_copy(stack):
    visitor = person()
    first = submit(stack, **visitor)
    # The same mailbox in another spelling: erasure finds it too.
    tagged_address = visitor["email"].replace("@", "+news@").upper()
    second = submit(stack, **{**visitor, "email": tagged_address})
    for created in (first, second):
        assert final_state(stack, created["id"])["status"] == "COMPLETED"
        assert len(crm_leads(stack, created["id"])) == 1
    assert wait_until(lambda: emails_to(stack, visitor["email"]), what="the confirmation")
    personal = [visitor["name"], visitor["email"], visitor["company"], visitor["message"], tagged_address]

    on_kafka = [
        (topic, record["offset"])
        for topic in (stack.topic, f"{stack.topic}.dlq")
        for record in read_topic(stack.kafka, topic)
        if any(text.lower().encode() in (record["raw"] or b"").lower() for text in personal)
    ]
    ours = [r for r in read_topic(stack.kafka, stack.topic) if first["id"].encode() in (r["key"] or b"")]
    assert len(ours) >= 5, "the test must have seen the submission's events"
    assert on_kafka == []

    erased = subprocess.run(
        [str(BIN / "python"), "manage.py", "erase", "--email", visitor["email"]],
        env=stack.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert erased.returncode == 0, erased.stderr
    assert "Erased 2 submission(s) and 2 CRM lead(s)" in erased.stdout

    for created in (first, second):
        assert crm_leads(stack, created["id"]) == []
        with pytest.raises(requests.HTTPError) as gone:
            read_submission(stack, created["id"])
        assert gone.value.response.status_code == 404
    databases = [
        stack.tmp / name for base in ("db.sqlite3", "crm.sqlite3") for name in (base, f"{base}-wal", f"{base}-journal")
    ]
    if "TEST_DATABASE_URL" in stack.env:  # the pipeline's rows are then in PostgreSQL, not in a file here
        databases = databases[3:]
    # The CRM forgets in its own process: its checkpoint follows its last delete.
    assert wait_until(lambda: not files_holding(databases, personal), timeout=10, what="deleted rows overwritten")
    logs = sorted(stack.procs.log_dir.glob("*.log"))
    assert logs and files_holding(logs, personal) == []
