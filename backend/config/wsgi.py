"""WSGI entry point for the API (and, with config.settings.crm_server, the mock CRM)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()
