from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from outbox.services import outbox_prune


class Command(BaseCommand):
    help = "Delete outbox rows that Kafka confirmed more than --days days ago (unsent rows are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7)

    def handle(self, *args, days: int, **options):
        count = outbox_prune(before=timezone.now() - timedelta(days=days))
        self.stdout.write(f"{count} published outbox row(s) deleted")
