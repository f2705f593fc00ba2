from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from infra.admin_base import admin_login_records_purge
from pipeline.retention import BATCHES, KEPT, submissions_purge


class Command(BaseCommand):
    help = (
        "Delete personal data older than DATA_RETENTION_DAYS (or --days) in the database of the settings it "
        "runs with: finished submissions with their timeline, email, saga, lead and published outbox rows, and "
        "the admin's sign-in records (django-axes). Work still in flight and unpublished events are kept (see "
        "pipeline/retention.py). The reconciler runs it every PURGE_INTERVAL. The mock CRM's server purges its own "
        "database itself (by hand: crm_purge)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="keep this many days (default DATA_RETENTION_DAYS; 0 deletes nothing)",
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args, days: int | None, dry_run: bool, **options):
        days = settings.DATA_RETENTION_DAYS if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 (purge nothing) or more")
        if days == 0:
            self.stdout.write("Purging is off (a retention of 0 days): nothing deleted.")
            return
        older_than = timezone.now() - timedelta(days=days)
        counts = submissions_purge(older_than=older_than, dry_run=dry_run)
        counts["axes (admin sign-in records)"] = admin_login_records_purge(older_than=older_than, dry_run=dry_run)
        kept, _ = counts.pop(KEPT), counts.pop(BATCHES)
        verb = "would be deleted (dry run)" if dry_run else "deleted"
        self.stdout.write(f"Created before {older_than:%Y-%m-%d %H:%M:%S} UTC, {verb}:")
        for label, count in counts.items():
            self.stdout.write(f"  {label}: {count}")
        self.stdout.write(f"  kept, not final: {kept}")
