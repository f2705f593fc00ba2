"""SQLite with queued writers: Django's backend, plus one write lock the OS hands over in turn.

SQLite lets one writer in at a time. A writer that finds the database locked sleeps in its busy
handler (1, 2, 5, 10 … 100 ms) and tries again: it does not learn when the lock is free, so under
load a short transaction waits for the next retry, and an unlucky one loses every retry to newer
writers. Under a burst that made the API's tail latency seconds while the lock sat idle between
retries.

Here every transaction (`atomic()`, which begins with BEGIN IMMEDIATE) first takes an exclusive
`flock` on `<database>.write-lock`, behind a lock of its own process's threads. The kernel wakes the
next waiting writer the moment the lock is released, so writers of every process queue instead of
polling, and none is starved. The lock is released as soon as the transaction commits or rolls
back (before Django runs on-commit callbacks). Single statements outside `atomic()` still rely on
the busy timeout; the services write inside `atomic()`.
"""

import fcntl
import os
import threading

from django.db.backends.sqlite3 import base


class WriteLock:
    """One per database file and process: a thread lock, then the file lock shared by processes."""

    def __init__(self, path: str):
        self.path = f"{path}.write-lock"
        self.threads = threading.Lock()
        self.fd: int | None = None

    def acquire(self) -> None:
        self.threads.acquire()
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()


_locks: dict[str, WriteLock] = {}
_locks_guard = threading.Lock()


def write_lock(path: str) -> WriteLock:
    with _locks_guard:
        if path not in _locks:
            _locks[path] = WriteLock(path)
        return _locks[path]


class DatabaseWrapper(base.DatabaseWrapper):
    holding: WriteLock | None = None

    def _start_transaction_under_autocommit(self):
        lock = None if self.is_in_memory_db() else write_lock(str(self.settings_dict["NAME"]))
        if lock is not None:
            lock.acquire()
            self.holding = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._let_go()
            raise

    def _let_go(self) -> None:
        lock, self.holding = self.holding, None
        if lock is not None:
            lock.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._let_go()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._let_go()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._let_go()
