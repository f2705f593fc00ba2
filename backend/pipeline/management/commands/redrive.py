from django.core.management.base import BaseCommand

from pipeline.reconcile import Reconciler


class Command(BaseCommand):
    help = (
        "One reconciler pass by hand: re-drive every submission whose work made no progress for "
        "--older-than seconds (unpublished events, lost hand-offs, lost timeline records, due emails, "
        "stalled sagas). Safe to repeat: every receiving end skips what was done already."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=300, help="seconds without progress (default 300)")

    def handle(self, *args, older_than: int, **options):
        counts = Reconciler().run_once(stall_seconds=older_than)
        self.stdout.write(", ".join(f"{kind}: {count}" for kind, count in counts.items()))
