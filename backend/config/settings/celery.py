"""Celery on Redis: JSON only, explicit time limits, one task prefetched at a time."""

from config.env import env
from events.work import MAIL_QUEUE, TASK_ROUTES, WORKFLOW_QUEUE

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
# Empty: the broker's Redis (the relay's wake-up channel, heartbeats, dedupe keys, rate limits).
REDIS_URL = env.str("REDIS_URL") or CELERY_BROKER_URL

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Shared by every API process, so that a rate limit is one limit, not one per process.
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "throttle",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    },
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Saga state lives in the database; nobody reads Celery results.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 60
CELERY_TASK_SOFT_TIME_LIMIT = 45
# Delivery, chosen on purpose (README, Guarantees): a task is acknowledged only when it finished, so
# a worker that dies with it leaves it in Redis; a child process that is killed gives it back at
# once (reject on worker lost); and Redis hands an unacknowledged task to another worker after the
# visibility timeout, which must outlast the longest task (TIME_LIMIT) plus the longest retry
# countdown (TASK_RETRY_BACKOFF_MAX) or a slow task would run twice. Every task is idempotent, so
# a second run is harmless; the reconciler catches whatever is still lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Saga steps retry a transient failure (CRM unreachable, 5xx, 429) with backoff 1, 2, 4, 8, 16, then
# every 30 s: 14 retries ride out a CRM outage of 5 minutes (1+2+4+8+16+9×30 s) before compensating.
TASK_MAX_RETRIES = env.int("TASK_MAX_RETRIES")
TASK_RETRY_BACKOFF_MAX = env.int("TASK_RETRY_BACKOFF_MAX")

# The reconciler (manage.py reconcile): every RECONCILE_INTERVAL seconds it re-drives work that made
# no progress for RECONCILE_STALL_SECONDS (see pipeline/reconcile.py).
RECONCILE_INTERVAL = env.float("RECONCILE_INTERVAL")
RECONCILE_STALL_SECONDS = env.int("RECONCILE_STALL_SECONDS")
# An email task lost with a dead worker (no email row this long after publication, mail queue empty).
RECONCILE_MAIL_HANDOFF_SECONDS = env.int("RECONCILE_MAIL_HANDOFF_SECONDS")
# Above this many queued tasks the reconciler re-drives nothing (a backlog, not a loss).
RECONCILE_BACKLOG_LIMIT = env.int("RECONCILE_BACKLOG_LIMIT")
# Two queues, each with its own worker (the proof of concept's mailer and workflow-agent): mail on
# "mail", the saga and everything else on "workflow", as the bridge routes them (events/work.py).
CELERY_TASK_DEFAULT_QUEUE = WORKFLOW_QUEUE
CELERY_TASK_ROUTES = TASK_ROUTES
CELERY_QUEUES_WATCHED = (MAIL_QUEUE, WORKFLOW_QUEUE)

# A relay, bridge or reconciler that has failed at every attempt for this long is reported down.
HEALTH_STUCK_SECONDS = env.int("HEALTH_STUCK_SECONDS")
