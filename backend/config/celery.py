"""The Celery application of the worker (and of Flower), and what every worker reports.

Celery's own signals feed the task metrics (infra/metrics.py) and carry each submission's correlation
id from task to task: whoever sends a task (the bridge, a worker sending a chain's next step or a
compensation, the reconciler) puts the id it works under in the message's `correlationid` header;
task_prerun sets it for the task's log lines, task_postrun restores the one before. Celery's own log
lines go through the project's LOGGING (JSON by default), and each worker serves its /metrics on the
port of its queue (METRICS_PORT_MAILER, METRICS_PORT_WORKFLOW_AGENT).
"""

import logging.config
import os
import time

from celery import Celery
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
)
from django.db import close_old_connections

from common.logs import CORRELATION_HEADER, CORRELATION_ID
from infra import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

# The message header with the submission's correlation id (Celery's own `correlation_id` is the task id).

app = Celery("intake")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Celery's Django fixup closes every database connection before and after each task unless told to
# reuse them: a worker reopened its database (on SQLite: the file, its PRAGMAs and functions) for
# every task, 8 times per submission. A task keeps its thread's connection as a request does; the
# task_prerun/task_postrun receivers below close one that broke or outlived DATABASE_CONN_MAX_AGE.
app.conf.CELERY_DB_REUSE_MAX = 1_000_000_000

# task id -> [(correlation id token, start)]: a list, as an eager retry runs again under the same id.
_running: dict[str, list] = {}


@setup_logging.connect
def configure_logging(**_kwargs) -> None:
    """Celery logs through the project's LOGGING instead of its own format (its receivers replace it)."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@worker_init.connect
def serve_worker_metrics(sender, **_kwargs) -> None:
    """A worker serves /metrics on the port of the queue it consumes (the threads pool: one process)."""
    name, port = metrics.worker_metrics_port(set(sender.app.amqp.queues.consume_from))
    metrics.metrics_serve(port, what=name)


@before_task_publish.connect
def pass_correlation_id(headers=None, **_kwargs) -> None:
    """A task sent while working on a submission carries its correlation id."""
    value = CORRELATION_ID.get()
    if value and headers is not None:
        headers.setdefault(CORRELATION_HEADER, value)


def correlation_header(request) -> str | None:
    """The header as a worker reads it (a message header is an attribute of the request), or as
    `apply(headers=...)` passes it."""
    return getattr(request, CORRELATION_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        CORRELATION_HEADER
    )


@task_prerun.connect
def task_started(task_id=None, task=None, **_kwargs) -> None:
    """The task logs under its message's correlation id (an eager one keeps its caller's), on a
    database connection that is still good."""
    if not task.request.is_eager:
        close_old_connections()
    token = CORRELATION_ID.set(correlation_header(task.request) or CORRELATION_ID.get())
    _running.setdefault(task_id, []).append((token, time.perf_counter()))


@task_postrun.connect
def task_finished(task_id=None, task=None, state=None, **_kwargs) -> None:
    """Count the task by outcome and time it; the correlation id before it applies again."""
    metrics.CELERY_TASKS.labels(task.name, (state or "unknown").lower()).inc()
    if not task.request.is_eager:
        close_old_connections()
    started = _running.get(task_id)
    if not started:
        return
    token, at = started.pop()
    if not started:
        del _running[task_id]
    metrics.CELERY_TASK_DURATION.labels(task.name).observe(time.perf_counter() - at)
    CORRELATION_ID.reset(token)


@task_failure.connect
def task_failed(sender=None, exception=None, **_kwargs) -> None:
    metrics.CELERY_TASK_FAILURES.labels(sender.name, type(exception).__name__).inc()


@task_retry.connect
def task_retried(sender=None, reason=None, **_kwargs) -> None:
    cause = getattr(reason, "exc", None) or reason  # Celery's Retry wraps the exception that caused it
    metrics.CELERY_TASK_RETRIES.labels(sender.name, type(cause).__name__ if cause else "unknown").inc()
