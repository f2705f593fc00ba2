"""Settings of the live-progress process (uvicorn, config.asgi): the same project, serving only each
submission's event stream and /health."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "config.urls_stream"

# Only middleware that runs in the event loop itself. Django's MiddlewareMixin classes (security,
# sessions, CSRF, auth, messages) are async-capable, but each of their hooks hops to the request's
# own thread, and under ASGI that thread stays with the request while it lasts: for a live viewer,
# minutes. This process answers two GET routes, without static files; the stream reads the API's
# session cookie itself (pipeline.stream) to let staff follow any submission.
MIDDLEWARE = ["infra.middleware.BodySizeLimitMiddleware", "corsheaders.middleware.CorsMiddleware"]
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]  # the admin is the API's
