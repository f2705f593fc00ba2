"""ASGI entry point of the live-progress stream: uvicorn --app-dir backend config.asgi:application."""

import os

from django.core import signals
from django.core.asgi import get_asgi_application
from django.db import close_old_connections, reset_queries

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.stream")
application = get_asgi_application()

# The stream reads on its own threads (pipeline.stream), which look after their connections; a
# request's own connection is never opened. Without these synchronous receivers a request needs no
# thread of its own until it ends (Django's ASGI handler keeps one per request, for its whole life).
signals.request_started.disconnect(reset_queries)
signals.request_started.disconnect(close_old_connections)
signals.request_finished.disconnect(close_old_connections)
