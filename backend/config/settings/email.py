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
