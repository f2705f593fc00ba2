import signal

from django.core.management.base import BaseCommand

from intake.reconcile import Reconciler


class Command(BaseCommand):
    help = "Re-drive stalled work every RECONCILE_INTERVAL seconds until SIGTERM or SIGINT (see intake/reconcile.py)."

    def handle(self, *args, **options):
        reconciler = Reconciler()

        def stop(_signum, _frame):
            reconciler.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        reconciler.run_forever()
