"""Writing events: only ever inside the transaction of the change they report."""

import logging
import uuid

import redis
from django.conf import settings
from django.db import transaction

from events import Envelope, Event, encode, make_envelope
from outbox.models import OutboxEvent

logger = logging.getLogger(__name__)

_redis_client: redis.Redis | None = None


class OutboxError(RuntimeError):
    """An event was written outside a transaction."""


def _redis() -> redis.Redis:
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _redis_client


def outbox_notify(key: str = "") -> None:
    """Announce a committed event for `key` (a submission id): it wakes the relay and the live views
    of that submission. If the notification is lost, the relay's poll finds the row anyway."""
    try:
        _redis().publish(settings.OUTBOX_WAKEUP_CHANNEL, key.encode())
    except redis.RedisError as exc:
        logger.warning("outbox wake-up not sent (%s); the relay will poll", exc)


def outbox_record(*, event: Event, correlation_id: str, causation_id: str | None = None) -> Envelope:
    """Store an event for publication; must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise OutboxError("outbox_record must be called inside transaction.atomic()")
    envelope = make_envelope(
        event, source=settings.EVENT_SOURCE, correlation_id=correlation_id, causation_id=causation_id
    )
    OutboxEvent.objects.create(
        id=uuid.UUID(envelope.id),
        topic=settings.KAFKA_TOPIC,
        key=envelope.subject,
        event_type=envelope.type,
        payload=encode(envelope).decode(),
    )
    transaction.on_commit(lambda: outbox_notify(envelope.subject))
    return envelope


def outbox_prune(*, before) -> int:
    """Delete rows Kafka confirmed before `before`; unsent rows are never deleted."""
    deleted, _ = OutboxEvent.objects.filter(published_at__lt=before).delete()
    return deleted
