from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from crm.retention import crm_leads_purge


class Command(BaseCommand):
    help = (
        "Delete the mock CRM's leads older than DATA_RETENTION_DAYS, by hand: its server does it every "
        "PURGE_INTERVAL itself (crm/retention.py). Run it with --settings config.settings.crm_server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args, dry_run: bool, **options):
        if settings.DATA_RETENTION_DAYS <= 0:
            self.stdout.write("Purging is off (DATA_RETENTION_DAYS=0): nothing deleted.")
            return
        older_than = timezone.now() - timedelta(days=settings.DATA_RETENTION_DAYS)
        count = crm_leads_purge(older_than=older_than, dry_run=dry_run)
        verb = "would be deleted (dry run)" if dry_run else "deleted"
        self.stdout.write(f"CRM leads created before {older_than:%Y-%m-%d %H:%M:%S} UTC, {verb}: {count}")
