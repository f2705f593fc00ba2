from django.core.management.base import BaseCommand

from common.loop import run_until_signalled
from pipeline.reconcile import Reconciler


class Command(BaseCommand):
    help = "Re-drive stalled work every RECONCILE_INTERVAL seconds until SIGTERM or SIGINT (see pipeline/reconcile.py)."

    def handle(self, *args, **options):
        run_until_signalled(Reconciler())
