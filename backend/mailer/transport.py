"""SMTP with a time-out per stage (RFC 5321 §4.5.3.2), and a name for the one failure not safe to retry.

Connecting, the greeting, EHLO, MAIL and RCPT wait SMTP_TIMEOUT (seconds): nothing has been handed over
yet, so giving up early and trying again later is safe. From DATA on, the client waits
SMTP_DATA_TIMEOUT (minutes, as the RFC asks of the reply to the final dot): once the server has the
whole message it may be queueing it, and a client that gives up then and sends again is how one
visitor gets two emails (RFC 1047). If the answer to the final dot still never comes (the time-out
passes, or the connection drops), the outcome is unknown: `SendOutcomeUnknown` says so, and the mailer
holds that send back instead of retrying it at once (mailer/services.py).
"""

import logging
import smtplib
import threading

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends import smtp

logger = logging.getLogger(__name__)

END_OF_DATA = b"\r\n.\r\n"


class SendOutcomeUnknown(smtplib.SMTPException):
    """The server received the whole message, final dot included, but its answer never came."""


class _StagedTimeouts:
    """Mixed into smtplib's SMTP classes: the long time-out for the data stage, and what failed where."""

    _in_data = False
    _dot_sent = False

    def data(self, msg):
        self._in_data, self._dot_sent = True, False
        if self.sock is not None:
            self.sock.settimeout(settings.SMTP_DATA_TIMEOUT)
        try:
            return super().data(msg)
        except smtplib.SMTPServerDisconnected as exc:  # smtplib's word for a time-out or a dropped line
            if self._dot_sent:
                raise SendOutcomeUnknown(f"no answer to the end of the message ({exc})") from exc
            raise
        finally:
            self._in_data = False
            if self.sock is not None:
                self.sock.settimeout(self.timeout)

    def send(self, s):
        super().send(s)
        # smtplib sends the message and its final dot in one call; once that returned, the server has it.
        if self._in_data and isinstance(s, bytes) and s.endswith(END_OF_DATA):
            self._dot_sent = True


class StagedSMTP(_StagedTimeouts, smtplib.SMTP):
    pass


class StagedSMTPSSL(_StagedTimeouts, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    """Django's SMTP backend on the staged connection classes (EMAIL_TIMEOUT is the short time-out)."""

    @property
    def connection_class(self):
        return StagedSMTPSSL if self.use_ssl else StagedSMTP


_smtp = threading.local()


def smtp_session():
    """This thread's SMTP session, kept open between sends (a NOOP checks it first; a dead one is
    replaced): no connect, greeting and EHLO per email."""
    target = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)
    connection = getattr(_smtp, "connection", None)
    if connection is not None and getattr(_smtp, "target", None) == target and _alive(connection):
        return connection
    smtp_session_drop()
    connection = get_connection()
    connection.open()
    _smtp.connection, _smtp.target = connection, target
    return connection


def _alive(connection) -> bool:
    session = getattr(connection, "connection", None)  # the smtplib.SMTP of Django's SMTP backend
    if session is None:
        return not hasattr(connection, "connection")  # a backend without sessions (locmem) is always fine
    try:
        return session.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def smtp_session_drop() -> None:
    connection, _smtp.connection = getattr(_smtp, "connection", None), None
    if connection is not None:
        try:
            connection.close()
        except Exception as exc:  # closing a broken session can fail in many ways; it is gone either way
            logger.debug("smtp: closing a broken session failed (%s)", exc)
