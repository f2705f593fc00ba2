"""The mock CRM's own retention: it stands for another company's system, so it forgets its leads
itself, in its own database: its server process purges every PURGE_INTERVAL what is older than
DATA_RETENTION_DAYS (`crm_retention_start`, called by config/wsgi.py), and
`manage.py crm_purge --settings config.settings.crm_server` does the same by hand."""

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from crm.models import CrmLead
from infra.sqlite import forget_deleted_pages

logger = logging.getLogger(__name__)
FIRST_PURGE_DELAY = 30.0  # seconds after the server starts: not in the way of its first requests
_stopped = threading.Event()  # never set in a server; the thread is a daemon and ends with the process


def crm_leads_purge(*, older_than: datetime, batch_size: int = 500, dry_run: bool = False) -> int:
    """Delete the CRM's leads created before `older_than`, `batch_size` per transaction; return how many."""
    old = CrmLead.objects.filter(created_at__lt=older_than).order_by("created_at", "id")
    if dry_run:
        return old.count()
    deleted = 0
    while ids := list(old.values_list("id", flat=True)[:batch_size]):
        # One short transaction per batch: a large purge never holds the write lock for long.
        with transaction.atomic():
            deleted += CrmLead.objects.filter(id__in=ids).delete()[0]
    return deleted


def crm_retention_start() -> threading.Thread | None:
    """Purge in the background of the CRM's server process, every PURGE_INTERVAL (None: purging is off)."""
    if settings.DATA_RETENTION_DAYS <= 0:
        return None
    thread = threading.Thread(target=_purge_forever, name="crm-retention", daemon=True)
    thread.start()
    return thread


def _purge_forever() -> None:
    wait = min(FIRST_PURGE_DELAY, settings.PURGE_INTERVAL)
    while not _stopped.wait(wait):
        wait = settings.PURGE_INTERVAL
        close_old_connections()
        try:
            older_than = timezone.now() - timedelta(days=settings.DATA_RETENTION_DAYS)
            deleted = crm_leads_purge(older_than=older_than)
            if deleted:
                forget_deleted_pages()
                logger.info("CRM retention: %d lead(s) created before %s deleted", deleted, older_than.isoformat())
        except Exception:  # a locked database: the next interval tries again
            logger.exception("CRM retention failed; trying again in %.0f s", settings.PURGE_INTERVAL)
