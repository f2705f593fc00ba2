from django.conf import settings
from django.core.management.base import BaseCommand

from common.kafka import client_config
from events.topics import ensure_topics, topic_layout


class Command(BaseCommand):
    help = (
        "Create the event topic (KAFKA_NUM_PARTITIONS partitions) and its dead-letter topic if missing, and give "
        "both the retention (KAFKA_RETENTION_HOURS, closing a segment at least daily)."
    )

    def handle(self, *args, **options):
        topics = topic_layout(settings.KAFKA_TOPIC, settings.KAFKA_NUM_PARTITIONS)
        ensure_topics(
            client_config(settings.KAFKA_BOOTSTRAP_SERVERS, settings.KAFKA_AUTH),
            topics,
            replication=settings.KAFKA_REPLICATION_FACTOR,
            min_insync=settings.KAFKA_MIN_INSYNC_REPLICAS,
            retention_hours=settings.KAFKA_RETENTION_HOURS,
        )
        self.stdout.write(", ".join(f"{name} ({count})" for name, count in topics.items()))
