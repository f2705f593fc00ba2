"""What a worker does around each task, beyond the task itself."""

import logging
import logging.config
from types import SimpleNamespace

from celery.fixups.django import DjangoWorkerFixup
from django.conf import settings

from common.logs import logging_config
from config.celery import app


def test_a_worker_keeps_its_database_connection_from_task_to_task(monkeypatch):
    """Celery's Django fixup closes every connection before and after each task unless told to reuse
    them; the worker keeps its connection (Django's CONN_MAX_AGE and health checks decide instead)."""
    fixup = DjangoWorkerFixup(app)
    closed = []
    monkeypatch.setattr(fixup, "_close_database", lambda *args, **kwargs: closed.append(1))
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    for _ in range(1000):
        fixup.on_task_prerun(sender=task)
        fixup.on_task_postrun(sender=task)
    assert closed == []


def test_a_worker_logs_received_tasks_only_at_debug():
    strategy = logging.getLogger("celery.worker.strategy")
    try:
        logging.config.dictConfig(logging_config(log_format="json", level="INFO"))
        assert not strategy.isEnabledFor(logging.INFO) and strategy.isEnabledFor(logging.WARNING)
        assert logging.getLogger("celery.app.trace").isEnabledFor(logging.INFO)  # "succeeded in 0.01 s"
        logging.config.dictConfig(logging_config(log_format="json", level="DEBUG"))
        assert strategy.isEnabledFor(logging.DEBUG)
    finally:
        logging.config.dictConfig(settings.LOGGING)
