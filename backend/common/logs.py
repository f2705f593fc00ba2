"""Log lines that operators can follow: JSON (python-json-logger) with the submission's correlation id.

Every process sets the correlation id of the submission it is working on in a context variable (the
API per request, the relay per event, Celery tasks from their `correlationid` header, the
reconciler per action); `CorrelationIdFilter` copies it onto each record, so that every line written
meanwhile carries it as `correlation_id`. `jq 'select(.correlation_id == "…")'` over the logs of all
processes follows one submission. LOG_FORMAT=plain gives text lines (the same id at their end).

The bridge uses the same (it imports no Django): `logging_config` serves every process.
"""

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# The attribute of a log record and the field of a JSON line.
FIELD = "correlation_id"
LOG_FORMATS = ("json", "plain")

CORRELATION_ID: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# The Celery message header that carries it from the sender (API, relay, bridge, reconciler) to a task.
CORRELATION_HEADER = "correlationid"


def correlation_id_set(value: str | UUID | None) -> None:
    """The correlation id of what this thread (or task) works on from now on."""
    CORRELATION_ID.set(str(value) if value else None)


@contextmanager
def correlation_id_bound(value: str | UUID | None) -> Iterator[None]:
    """The correlation id of the lines written inside the block; the previous one after it."""
    token = CORRELATION_ID.set(str(value) if value else None)
    try:
        yield
    finally:
        CORRELATION_ID.reset(token)


class CorrelationIdFilter(logging.Filter):
    """Copies the current correlation id onto each record (a record given one with `extra` keeps it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, FIELD, None) is None:
            value = CORRELATION_ID.get()
            if value is not None:
                setattr(record, FIELD, value)
        return True


# What a secret looks like in a log line: a token, password or session in a query string or a form,
# a cookie, or an Authorization header's credentials. The value is replaced, the name kept.
SECRET_VALUE = re.compile(
    r"(?i)\b(access_token|token|password|passwd|secret|sessionid|csrftoken|csrfmiddlewaretoken|api_key)"
    r"([\"']?\s*[=:]\s*[\"']?|%3D)([^&\s\"',;]+)"
)
CREDENTIALS = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
REDACTED = "[redacted]"
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", FIELD}


def redact(text: str) -> str:
    """`text` with the values of anything that looks like a secret replaced by [redacted]."""
    text = SECRET_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return CREDENTIALS.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


class SecretsFilter(logging.Filter):
    """No secret reaches a log line: an access line loses its query string (the stream's carries the
    access token there), and every message is redacted (common.logs.redact) once it is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, str(path).split("?", 1)[0], version, status)
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info:  # the traceback as text, redacted; formatters write exc_text when exc_info is gone
            record.exc_text = redact(record.exc_text or logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        # What a call passed in `extra` is written too (django.request passes the request, whose text
        # is its URL): each such value is written as its redacted text.
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and not isinstance(value, (int, float, bool, type(None))):
                text = str(value)
                clean = redact(text)
                if clean != text:
                    setattr(record, name, clean)
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, correlation_id (when there is one),
    exc_info (with a traceback), and whatever a call passed in `extra`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        # uvicorn repeats each message with terminal colours: not for a log file.
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "color_message"])
        super().__init__(**kwargs)


class PlainFormatter(logging.Formatter):
    """Text lines for developers (LOG_FORMAT=plain), the correlation id at the end of the first line."""

    def __init__(self, fmt: str = "%(asctime)s %(levelname)s %(name)s %(message)s", **kwargs):
        super().__init__(fmt, **kwargs)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        line = super().formatMessage(record)
        value = getattr(record, FIELD, None)
        return f"{line} [{FIELD}={value}]" if value else line


def logging_config(*, log_format: str, level: str) -> dict:
    """The logging dictConfig of every process: the Django ones (LOGGING), gunicorn's master, the bridge."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "correlation": {"()": "common.logs.CorrelationIdFilter"},
            "secrets": {"()": "common.logs.SecretsFilter"},
        },
        "formatters": {
            "json": {"()": "common.logs.JsonFormatter"},
            "plain": {"()": "common.logs.PlainFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["correlation", "secrets"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # uvicorn (the stream) configures its own loggers before it loads Django: these lines
            # replace its text handlers with this one.
            **{
                name: {"handlers": ["console"], "level": "INFO", "propagate": False}
                for name in ("uvicorn", "uvicorn.access")
            },
            # A worker's "Task … received" line only at DEBUG: the "succeeded"/"failed" line that
            # follows names the same task with its run time, and a line per message was a fifth of
            # everything logged per submission.
            "celery.worker.strategy": {"level": "DEBUG" if level == "DEBUG" else "WARNING"},
        },
    }


class CorrelationIdMiddleware:
    """Each request starts without a correlation id (a gunicorn thread serves one request after another);
    the view that creates or reads a submission sets it, and it stays set for the request's access-log line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        CORRELATION_ID.set(None)
        return self.get_response(request)
