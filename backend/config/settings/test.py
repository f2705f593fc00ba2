"""Unit tests: no network, Celery eager, mail kept in memory."""

import os

# A developer's .env must not change what unit tests see (DEMO_CONTROLS, rates, ...).
os.environ.setdefault("ENV_FILE", "/dev/null")
os.environ.setdefault("DJANGO_SECRET_KEY", "unit-tests-only")
os.environ.setdefault("CRM_API_TOKEN", "unit-tests-crm-token")

from config.settings.base import *  # noqa: E402,F403

# The mock CRM's models and views are unit-tested in the same in-memory database (it runs apart:
# config.settings.crm_server).
INSTALLED_APPS = [*INSTALLED_APPS, "crm"]  # noqa: F405
# No process's /metrics server in unit tests: a loop run here must not hold a port of the real
# stack's (9101-9105) for the rest of the session.
METRICS_PORT_RELAY = METRICS_PORT_BRIDGE = METRICS_PORT_MAILER = 0
METRICS_PORT_WORKFLOW_AGENT = METRICS_PORT_RECONCILER = 0
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"submissions": "1000/minute"}}  # noqa: F405
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"},
}
