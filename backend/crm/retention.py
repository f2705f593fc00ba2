"""The mock CRM's own retention: it stands for another company's system, so it forgets its leads
itself, in its own database (`manage.py purge --settings config.settings.crm_server`)."""

from datetime import datetime

from django.db import transaction

from crm.models import CrmLead


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
