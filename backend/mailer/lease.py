"""Leases on sends in flight: a worker process renews the claims it holds while their sends run.

A claim (EmailDelivery.claimed_at) lasts MAIL_LEASE_SECONDS. While a send runs, this process's keeper
thread moves claimed_at forward every third of that, so a send that waits minutes on a slow server
keeps its claim; a worker that dies stops renewing, and its sends are taken over within one lease
(the reconciler finds them due) instead of after a fixed minute.
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from mailer.models import EmailDelivery

logger = logging.getLogger(__name__)


class LeaseKeeper:
    """The claims this process holds, and the one thread that renews them (started on first use)."""

    def __init__(self) -> None:
        self._held: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def held(self, delivery_pk: int) -> Iterator[None]:
        """Keep the claim on `delivery_pk` renewed for as long as the block runs."""
        with self._lock:
            self._held[delivery_pk] += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mail-lease-keeper", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held[delivery_pk] -= 1
                if self._held[delivery_pk] <= 0:
                    del self._held[delivery_pk]

    def renew(self) -> int:
        """Move the claims held now forward to this moment; the number of rows renewed."""
        with self._lock:
            held = list(self._held)
        if not held:
            return 0
        try:
            return EmailDelivery.objects.filter(pk__in=held, status=EmailDelivery.Status.SENDING).update(
                claimed_at=timezone.now()
            )
        except DatabaseError as exc:  # the next round tries again; the lease has two more rounds in it
            logger.warning("mail leases not renewed (%s)", exc)
            return 0

    def _run(self) -> None:
        while True:  # a daemon thread: it ends with its process
            time.sleep(settings.MAIL_LEASE_SECONDS / 3)
            if self.renew():
                connection.close()  # this thread writes rarely: no connection is kept open for it


LEASES = LeaseKeeper()
