import signal

from django.core.management.base import BaseCommand

from outbox.relay import Relay


class Command(BaseCommand):
    help = "Publish outbox events to Kafka until SIGTERM or SIGINT."

    def handle(self, *args, **options):
        relay = Relay()

        def stop(_signum, _frame):
            relay.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        relay.run_forever()
