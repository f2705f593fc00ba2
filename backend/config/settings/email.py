"""Outgoing mail over real SMTP (the catcher locally)."""

from config.env import env

# Django's SMTP backend with a time-out per SMTP stage (mailer/transport.py).
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND")
if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":  # an older .env's: same backend, minus the stages
    EMAIL_BACKEND = "mailer.transport.EmailBackend"
EMAIL_HOST = env.str("SMTP_HOST")
EMAIL_PORT = env.int("SMTP_PORT")
EMAIL_HOST_USER = env.str("SMTP_USER")
EMAIL_HOST_PASSWORD = env.str("SMTP_PASSWORD")
EMAIL_USE_TLS = env.bool("SMTP_USE_TLS")
# Connect, greeting, EHLO, MAIL, RCPT: seconds, since nothing is handed over yet.
EMAIL_TIMEOUT = env.int("SMTP_TIMEOUT")
# From DATA to the reply to the final dot: RFC 5321 §4.5.3.2 asks for 10 minutes, so that a slow server
# that already has the message is not sent it again.
SMTP_DATA_TIMEOUT = env.int("SMTP_DATA_TIMEOUT")
# A send whose answer never came (time-out or dropped line after the dot) may still be delivered: the
# next attempt waits this long (README, Guarantees: the remaining risk and the Message-ID).
MAIL_UNKNOWN_OUTCOME_WAIT = env.int("MAIL_UNKNOWN_OUTCOME_WAIT")
DEFAULT_FROM_EMAIL = env.str("FROM_EMAIL")
SITE_NAME = env.str("SITE_NAME")

# A worker's claim on a send lasts this long; its process renews it every third of that while the
# send runs (mailer/lease.py), so a dead worker's send is taken over after at most this.
MAIL_LEASE_SECONDS = env.int("MAIL_LEASE_SECONDS")
# Transient failures (connection refused, time-outs, 4xx) are retried with exponential backoff up to
# MAIL_RETRY_BACKOFF_MAX seconds apart, for MAIL_RETRY_HORIZON seconds (a mail server's queue keeps
# trying for days; 6 hours here). A permanent refusal (5xx) fails at once.
MAIL_RETRY_HORIZON = env.int("MAIL_RETRY_HORIZON")
MAIL_RETRY_BACKOFF_MAX = env.int("MAIL_RETRY_BACKOFF_MAX")
