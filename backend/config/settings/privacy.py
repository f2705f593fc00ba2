"""Personal data: how long finished submissions are kept (pipeline/retention.py, `manage.py purge`)."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env

# Finished submissions older than this many days are deleted with everything hanging off them
# (timeline, email, saga, lead, published outbox rows); 0 keeps everything (purging is off).
DATA_RETENTION_DAYS = env.int("DATA_RETENTION_DAYS")
# Seconds between the reconciler's scheduled purges (the first one runs soon after it starts).
PURGE_INTERVAL = env.float("PURGE_INTERVAL")

if DATA_RETENTION_DAYS < 0 or PURGE_INTERVAL <= 0:
    raise ImproperlyConfigured(
        "DATA_RETENTION_DAYS must be 0 (keep everything) or more, and PURGE_INTERVAL more than 0 (see .env.example)."
    )
