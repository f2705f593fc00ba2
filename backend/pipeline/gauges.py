"""What the alerts need to see from outside the processes they watch, measured by the reconciler on
each tick: a stopped bridge exports no lag of its own, a stuck relay no age of what it did not send.

- intake_outbox_oldest_unpublished_seconds: the age of the oldest outbox event not yet in Kafka;
- intake_consumer_group_lag{group, topic, partition}: records the bridge's group has still to
  commit, from Kafka's offsets (what `./deploy.sh status` shows);
- intake_sagas_stalled: lead workflows neither finished nor moving for RECONCILE_STALL_SECONDS.

A measurement that fails (Kafka down) is logged once per failure streak and its gauge left as it
was; the alert on the process that is down says the rest.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from prometheus_client import Gauge

from common.kafka import client_config, partition_lag
from outbox.models import OutboxEvent
from workflow.recovery import saga_stalled

logger = logging.getLogger(__name__)

OUTBOX_OLDEST = Gauge(
    "intake_outbox_oldest_unpublished_seconds", "Age of the oldest outbox event not yet published to Kafka (0: none)."
)
GROUP_LAG = Gauge(
    "intake_consumer_group_lag",
    "Records of a partition a consumer group has not committed yet, from Kafka's offsets (the reconciler's view).",
    ["group", "topic", "partition"],
)
SAGAS_STALLED = Gauge("intake_sagas_stalled", "Lead workflows neither finished nor moving for RECONCILE_STALL_SECONDS.")


class PipelineGauges:
    def __init__(self):
        self._consumer = None
        self._failing = False

    def measure(self) -> None:
        now = timezone.now()
        oldest = (
            OutboxEvent.objects.filter(published_at__isnull=True)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        OUTBOX_OLDEST.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        stalled_before = now - timedelta(seconds=settings.RECONCILE_STALL_SECONDS)
        SAGAS_STALLED.set(len(saga_stalled(stalled_before=stalled_before)))
        try:
            for partition, lag in self.group_lag().items():
                GROUP_LAG.labels(settings.KAFKA_CONSUMER_GROUP, settings.KAFKA_TOPIC, str(partition)).set(lag)
            self._failing = False
        except Exception as exc:  # noqa: BLE001 (Kafka unreachable: measured again next tick)
            if not self._failing:
                logger.warning("could not measure the consumer group's lag: %s", exc)
            self._failing = True

    def group_lag(self) -> dict[int, int]:
        """partition -> lag of KAFKA_CONSUMER_GROUP on KAFKA_TOPIC (partitions whose lag is known)."""
        from confluent_kafka import Consumer, TopicPartition

        if self._consumer is None:
            self._consumer = Consumer(
                client_config(
                    settings.KAFKA_BOOTSTRAP_SERVERS,
                    settings.KAFKA_AUTH,
                    **{"group.id": settings.KAFKA_CONSUMER_GROUP, "enable.auto.commit": False, "log_level": 0},
                )
            )
        topic = settings.KAFKA_TOPIC
        metadata = self._consumer.list_topics(topic, timeout=5)
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.topics[topic].partitions)]
        committed = {tp.partition: tp.offset for tp in self._consumer.committed(partitions, timeout=5)}
        lags = {}
        for tp in partitions:
            earliest, end = self._consumer.get_watermark_offsets(tp, timeout=5)
            lag = partition_lag(committed.get(tp.partition), earliest, end)
            if lag is not None:
                lags[tp.partition] = lag
        return lags
