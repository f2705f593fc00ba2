from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from outbox.services import outbox_redrive


class Command(BaseCommand):
    help = (
        "Publish again the ContactFormSubmitted event of every submission that is not finished after "
        "--older-than seconds (for example after a fault stranded them). Safe to repeat: the bridge "
        "and every task skip what was done already."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=300, help="seconds since the submission (default 300)")

    def handle(self, *args, older_than: int, **options):
        count = outbox_redrive(before=timezone.now() - timedelta(seconds=older_than))
        self.stdout.write(f"{count} submission(s) queued for publication again")
