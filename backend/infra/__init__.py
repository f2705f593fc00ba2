"""Django-side helpers every app may use: metrics, the SQLite backend with queued writers, admin base
classes, the client address, health checks, middleware. No app code: only Django, common and events."""
