"""No secret reaches a log line: the handlers of every process redact tokens, passwords, sessions and
credentials, and an access line loses its query string."""

import io
import logging
import logging.config

import pytest

from common.logs import REDACTED, logging_config, redact

TOKEN = "tok_Zx81-secret_value.abc"


@pytest.fixture
def captured():
    """A logger configured as every process's (LOGGING), writing to a buffer."""
    config = logging_config(log_format="json", level="INFO")
    config["handlers"]["console"]["stream"] = io.StringIO()
    config["disable_existing_loggers"] = False
    logging.config.dictConfig(config)
    stream = logging.getLogger().handlers[0].stream
    yield stream
    logging.config.dictConfig(logging_config(log_format="json", level="INFO"))


@pytest.mark.parametrize(
    "line",
    [
        f"GET /api/submissions/1/events?access_token={TOKEN} 200",
        f"GET /x?a=1&access_token={TOKEN}&b=2",
        f"Authorization: Bearer {TOKEN}",
        f"Cookie: sessionid={TOKEN}; csrftoken={TOKEN}",
        f"password={TOKEN}",
        f"{{'password': '{TOKEN}'}}",
        f"access_token%3D{TOKEN}",
        f"Basic {TOKEN}",
    ],
)
def test_a_secret_in_any_shape_is_redacted(line):
    assert TOKEN not in redact(line)
    assert REDACTED in redact(line)


def test_text_without_secrets_is_left_alone():
    line = "mail to ada@example.org sent; submission 5b3c1f0e token_count=3"
    assert (
        redact("mail to ada@example.org sent; submission 5b3c1f0e")
        == "mail to ada@example.org sent; submission 5b3c1f0e"
    )
    assert "ada@example.org" in redact(line)


def test_the_streams_access_line_keeps_its_path_without_the_query(captured):
    access = logging.getLogger("uvicorn.access")
    access.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5555",
        "GET",
        f"/api/submissions/1/events?access_token={TOKEN}",
        "1.1",
        200,
    )
    line = captured.getvalue()
    assert "/api/submissions/1/events" in line and " 200" in line
    assert TOKEN not in line and "access_token" not in line


def test_a_warning_with_a_full_url_and_an_exception_are_redacted(captured):
    log = logging.getLogger("pipeline.stream")
    log.warning("refused %s", f"http://host/api/submissions/1/events?access_token={TOKEN}")
    try:
        raise ValueError(f"bad header Authorization: Bearer {TOKEN}")
    except ValueError:
        log.exception("failed")
    assert TOKEN not in captured.getvalue()
    assert captured.getvalue().count(REDACTED) == 2


def test_a_request_passed_in_extra_is_written_without_its_token(captured):
    class Request:  # as Django's request: its text is its URL
        def __str__(self):
            return f"<ASGIRequest: GET '/api/submissions/1/events?access_token={TOKEN}'>"

    logging.getLogger("django.request").warning(
        "Forbidden: %s", "/api/submissions/1/events", extra={"request": Request()}
    )
    record_line = captured.getvalue()
    assert "Forbidden" in record_line and TOKEN not in record_line
