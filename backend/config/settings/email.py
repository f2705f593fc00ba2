"""Outgoing mail over real SMTP (the catcher locally)."""

from config.env import env

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("SMTP_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("SMTP_PORT", default=1025)
EMAIL_HOST_USER = env.str("SMTP_USER", default="")
EMAIL_HOST_PASSWORD = env.str("SMTP_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("SMTP_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("SMTP_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("FROM_EMAIL", default="noreply@event-driven-poc.com")
SITE_NAME = env.str("SITE_NAME", default="Event-driven intake")

# A worker's claim on a send expires after this (it died mid-send): longer than one SMTP exchange.
MAIL_LEASE_SECONDS = env.int("MAIL_LEASE_SECONDS", default=max(60, 3 * EMAIL_TIMEOUT))
# Transient failures (connection refused, time-outs, 4xx) are retried with exponential backoff up to
# MAIL_RETRY_BACKOFF_MAX seconds apart, for MAIL_RETRY_HORIZON seconds (a mail server's queue keeps
# trying for days; 6 hours here). A permanent refusal (5xx) fails at once.
MAIL_RETRY_HORIZON = env.int("MAIL_RETRY_HORIZON", default=6 * 3600)
MAIL_RETRY_BACKOFF_MAX = env.int("MAIL_RETRY_BACKOFF_MAX", default=60)
