"""Prometheus metrics of the Django processes, and how a process without an HTTP server serves them.

What the API, the workers and the services count is defined here; each loop's own metrics live with
it (the relay's in outbox/relay.py, the reconciler's in pipeline/reconcile.py, the bridge's in
bridge/consumer.py). The API serves /metrics through django-prometheus (its gunicorn workers add up
their numbers in prometheus_client's multiprocess mode, config/gunicorn.py); the relay, the two
workers and the reconciler each serve theirs on a port of their own (METRICS_PORT_*, 0: none).

Nothing here queries a database per event: counters move where the work is done, and gauges of a
backlog are computed when a scrape asks for them (or by a loop that queries anyway).
"""

import logging

from django.conf import settings
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.registry import Collector

from common.metrics_http import metrics_http_start

logger = logging.getLogger(__name__)

# Seconds: from a millisecond step to a CRM call that times out and is retried.
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

SUBMISSIONS = Counter(
    "intake_submissions",
    "Submissions the API answered, by outcome: accepted (201) or rejected, with the reason: validation (400), "
    "honeypot (400, the hidden field filled in) or throttled (429).",
    ["outcome", "reason"],
)
CELERY_TASKS = Counter(
    "celery_tasks",
    "Celery tasks this worker ran, by task name and outcome (Celery's state: success, failure, retry, ...).",
    ["task", "outcome"],
)
CELERY_TASK_DURATION = Histogram(
    "celery_task_duration_seconds", "How long a task ran, by task name.", ["task"], buckets=TASK_BUCKETS
)
CELERY_TASK_FAILURES = Counter(
    "celery_task_failures", "Tasks that failed for good, by task name and exception.", ["task", "exception"]
)
CELERY_TASK_RETRIES = Counter(
    "celery_task_retries", "Retries Celery scheduled, by task name and exception.", ["task", "exception"]
)
EMAILS = Counter(
    "intake_emails",
    "Confirmation emails by outcome: sent; retrying (a transient failure: tried again later); outcome_unknown "
    "(the answer to the end of the message never came: tried again after MAIL_UNKNOWN_OUTCOME_WAIT); failed (for good).",
    ["outcome"],
)
WORKFLOWS = Counter(
    "intake_workflows",
    "Lead workflows that ended, by outcome: completed, compensated, compensation_failed.",
    ["outcome"],
)


def metrics_serve(port: int, *, what: str, collectors: tuple[Collector, ...] = ()) -> bool:
    """Serve this process's /metrics on BIND_HOST:`port` from a thread (0: not at all); register
    `collectors`, which compute their values when scraped. A port that is taken is logged, not fatal:
    the work matters more than its numbers (a second relay on one host, for one)."""
    if not port:
        return False
    for collector in collectors:
        try:
            REGISTRY.register(collector)
        except ValueError:  # registered by an earlier call in this process
            pass
    try:
        metrics_http_start(port, settings.BIND_HOST, allowed_hosts=settings.METRICS_ALLOWED_HOSTS)
    except OSError as exc:
        logger.warning("%s: metrics not served on %s:%d (%s)", what, settings.BIND_HOST, port, exc)
        return False
    logger.info("%s: metrics on http://%s:%d/metrics", what, settings.BIND_HOST, port)
    return True


def worker_metrics_port(queues) -> tuple[str, int]:
    """The name and metrics port of a Celery worker, chosen by the first queue it consumes that has one
    (METRICS_PORT_BY_QUEUE: the mailer's "mail", the workflow agent's "workflow")."""
    for queue, (name, port) in settings.METRICS_PORT_BY_QUEUE.items():
        if queue in queues:
            return name, port
    return "worker", 0
