"""A mark in Redis, written the moment the SMTP server accepts a confirmation (before the database
records it): whoever takes over a send whose worker died in between records it instead of sending again."""

import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

SENT_MARK_PREFIX = "mail:accepted:"
SENT_MARK_TTL = 7 * 24 * 3600


_marks_client: redis.Redis | None = None


def _marks() -> redis.Redis:
    """One client (and connection pool) per process: every send reads and writes a mark."""
    global _marks_client
    if _marks_client is None:
        _marks_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return _marks_client


def accepted_mark(submission_id) -> None:
    """Note that the server accepted this submission's confirmation; a Redis failure is logged, not raised."""
    try:
        _marks().set(f"{SENT_MARK_PREFIX}{submission_id}", 1, ex=SENT_MARK_TTL)
    except redis.RedisError as exc:
        logger.warning("mail of submission %s sent; its mark was not written (%s)", submission_id, exc)


def accepted_before(submission_id) -> bool:
    try:
        return bool(_marks().exists(f"{SENT_MARK_PREFIX}{submission_id}"))
    except redis.RedisError:
        return False  # no way to know: send (at least once beats never)
