"""WSGI entry point for the API (and, with config.settings.crm_server, the mock CRM)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (configured by the line above)

if settings.ROOT_URLCONF == "crm.urls":
    # The mock CRM forgets old leads by itself, in its server process (crm/retention.py).
    from crm.retention import crm_retention_start

    crm_retention_start()
