from django.core.management.base import BaseCommand

from common.loop import run_until_signalled
from outbox.relay import Relay


class Command(BaseCommand):
    help = "Publish outbox events to Kafka until SIGTERM or SIGINT."

    def handle(self, *args, **options):
        run_until_signalled(Relay())
