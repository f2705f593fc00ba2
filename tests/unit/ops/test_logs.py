"""Log lines are JSON, and each one about a submission carries its correlation id (`correlation_id`)."""

import io
import json
import logging
import os
import runpy
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery import shared_task
from django.conf import settings
from gunicorn.config import Config
from rest_framework.test import APIClient

from bridge import consumer as bridge_consumer
from common.logs import (
    CORRELATION_ID,
    CorrelationIdFilter,
    JsonFormatter,
    PlainFormatter,
    correlation_id_bound,
    logging_config,
)
from config.celery import CORRELATION_HEADER, pass_correlation_id
from intake.models import Submission
from tests.servers import GUNICORN_CONFIG

BODY = {"name": "Ada", "email": "ada@example.org", "message": "Hi"}


@pytest.fixture(autouse=True)
def no_correlation_id():
    """Each test starts outside any submission (services called directly, not from a task, keep theirs)."""
    token = CORRELATION_ID.set(None)
    yield
    CORRELATION_ID.reset(token)


def capture(
    formatter: logging.Formatter, log_filter: logging.Filter | None = None
) -> tuple[logging.Logger, io.StringIO]:
    """A logger whose lines go through the project's handler set-up (formatter and filter) into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(log_filter or CorrelationIdFilter())
    log = logging.getLogger(f"tests.logs.{id(stream)}")
    log.handlers, log.propagate = [handler], False
    log.setLevel(logging.DEBUG)
    return log, stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_carries_the_correlation_id_bound_around_it_and_only_there():
    log, stream = capture(JsonFormatter())
    with correlation_id_bound("c-1"):
        log.info("published %s", "ContactFormSubmitted", extra={"event_id": "e-1"})
    log.warning("nothing bound")
    inside, outside = lines(stream)
    assert inside["correlation_id"] == "c-1" and inside["event_id"] == "e-1"
    assert inside["message"] == "published ContactFormSubmitted" and inside["level"] == "INFO"
    assert inside["logger"] == log.name and inside["time"].endswith("+00:00")
    assert "correlation_id" not in outside and outside["level"] == "WARNING"


def test_uvicorn_s_coloured_copy_of_a_message_is_left_out():
    log, stream = capture(JsonFormatter())
    log.info("Started server process [%d]", 7, extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"})
    [line] = lines(stream)
    assert line["message"] == "Started server process [7]" and "color_message" not in line


def test_bound_ids_nest_and_the_outer_one_comes_back():
    with correlation_id_bound("outer"):
        with correlation_id_bound("inner"):
            assert CORRELATION_ID.get() == "inner"
        assert CORRELATION_ID.get() == "outer"
    assert CORRELATION_ID.get() is None


def test_an_exception_is_one_json_line_with_its_traceback():
    log, stream = capture(JsonFormatter())
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("batch failed")
    [line] = lines(stream)
    assert line["message"] == "batch failed" and "ValueError: boom" in line["exc_info"]


def test_plain_lines_end_with_the_correlation_id():
    log, stream = capture(PlainFormatter())
    with correlation_id_bound("c-2"):
        log.info("hello")
    log.info("bye")
    first, second = stream.getvalue().splitlines()
    assert first.endswith("INFO " + log.name + " hello [correlation_id=c-2]")
    assert second.endswith(" bye")


def test_the_settings_log_json_unless_told_plain():
    handler = settings.LOGGING["handlers"]["console"]
    assert (
        settings.LOG_FORMAT == "json"
        and handler["formatter"] == "json"
        and handler["filters"] == ["correlation", "secrets"]
    )
    assert logging_config(log_format="plain", level="INFO")["handlers"]["console"]["formatter"] == "plain"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(log_format="xml", level="INFO")


@pytest.mark.django_db
def test_the_api_works_under_the_correlation_id_of_the_submission_it_creates_or_reads():
    client = APIClient()
    created = client.post("/api/submissions/", BODY, format="json").json()
    submission = Submission.objects.get(id=created["id"])
    assert CORRELATION_ID.get() == str(submission.correlation_id)  # for the request's access-log line
    client.get("/health")
    assert CORRELATION_ID.get() is None  # the next request starts without one
    headers = {"HTTP_AUTHORIZATION": f"Bearer {created['access_token']}"}
    assert client.get(f"/api/submissions/{submission.id}/", **headers).status_code == 200
    assert CORRELATION_ID.get() == str(submission.correlation_id)


@shared_task(name="tests.ops.correlation_seen")
def correlation_seen() -> str | None:
    logging.getLogger("tests.ops").info("inside the task")
    return CORRELATION_ID.get()


def test_a_task_runs_under_its_header_s_correlation_id_and_the_caller_s_comes_back():
    with correlation_id_bound("caller"):
        assert correlation_seen.apply(headers={CORRELATION_HEADER: "from-header"}).get() == "from-header"
        assert CORRELATION_ID.get() == "caller"
        assert correlation_seen.apply().get() == "caller"  # no header: an eager call keeps its caller's


def test_a_task_sent_while_working_on_a_submission_carries_its_correlation_id():
    headers = {}
    pass_correlation_id(headers=headers)
    assert headers == {}
    with correlation_id_bound("c-3"):
        pass_correlation_id(headers=headers)
        pass_correlation_id(headers=(kept := {CORRELATION_HEADER: "first"}))
    assert headers == {CORRELATION_HEADER: "c-3"} and kept == {CORRELATION_HEADER: "first"}


def test_the_bridge_labels_its_lines_and_its_tasks_with_the_record_s_correlation_id():
    log, stream = capture(JsonFormatter(), CorrelationIdFilter())
    headers = {}
    with correlation_id_bound("c-4"):
        log.info("handed off")
        bridge_consumer.pass_correlation_id(headers=headers)
    assert lines(stream)[0]["correlation_id"] == "c-4"
    assert headers == {"correlationid": "c-4"}


@pytest.fixture
def gunicorn_settings(monkeypatch, tmp_path):
    """The API's gunicorn settings file, read as gunicorn reads it (its environment undone afterwards)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return SimpleNamespace(**runpy.run_path(str(GUNICORN_CONFIG)))


def test_gunicorn_writes_json_access_lines_without_the_query_string(gunicorn_settings):
    cfg = Config()
    cfg.set("accesslog", "-")
    glog = gunicorn_settings.logger_class(cfg)
    stream = io.StringIO()
    for handler in glog.access_log.handlers:
        handler.setStream(stream)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/submissions/s-1/events",
        "QUERY_STRING": "access_token=secret",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "test",
    }
    response = SimpleNamespace(status="200 OK", sent=42, headers=[])
    with correlation_id_bound("c-5"):
        glog.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=12.5))
    [line] = lines(stream)
    assert line["message"] == "GET /api/submissions/s-1/events 200" and line["status"] == 200
    assert (line["method"], line["bytes"], line["duration_ms"]) == ("GET", 42, 12.5)
    assert line["correlation_id"] == "c-5" and "secret" not in stream.getvalue()


def test_gunicorn_forgets_earlier_runs_numbers_and_marks_exited_workers_dead(gunicorn_settings, tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process that has exited: its numbers are an earlier run's
    (tmp_path / f"counter_{gone.pid}.db").write_bytes(b"")
    (tmp_path / f"gauge_livesum_{gone.pid}.db").write_bytes(b"")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"")  # a live process: another API replica's worker
    gunicorn_settings.on_starting(None)
    assert [path.name for path in tmp_path.glob("*.db")] == [f"counter_{os.getpid()}.db"]
    (tmp_path / f"counter_{os.getpid()}.db").unlink()
    (tmp_path / "gauge_livesum_3.db").write_bytes(b"")
    (tmp_path / "counter_3.db").write_bytes(b"")
    gunicorn_settings.child_exit(None, SimpleNamespace(pid=3))
    assert [path.name for path in tmp_path.glob("*.db")] == ["counter_3.db"]  # its counts stay in the sum
