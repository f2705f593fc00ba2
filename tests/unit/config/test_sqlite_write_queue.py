"""infra.sqlite: every transaction queues on one OS file lock, released at commit or rollback."""

import fcntl
import os
import subprocess
import sys
import threading

import pytest
from django.db import connections

from infra.sqlite.base import DatabaseWrapper

# These tests make their own connections to files of their own; the flag only lets them connect.
pytestmark = pytest.mark.django_db


def settings_for(path) -> dict:
    default = connections["default"].settings_dict
    return {**default, "ENGINE": "infra.sqlite", "NAME": str(path), "OPTIONS": {"transaction_mode": "IMMEDIATE"}}


def lock_is_free(path) -> bool:
    fd = os.open(f"{path}.write-lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor also releases a lock taken here
    return True


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_transaction_holds_the_write_lock_until_it_ends(tmp_path, end):
    database = tmp_path / "db.sqlite3"
    wrapper = DatabaseWrapper(settings_for(database), alias="queued")
    try:
        wrapper.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        wrapper.cursor().execute("CREATE TABLE t (x INTEGER)")
        assert not lock_is_free(database)
        getattr(wrapper, end)()
        wrapper.set_autocommit(True)
        assert lock_is_free(database)
    finally:
        wrapper.close()


def test_a_writer_of_another_process_waits_for_the_lock_and_gets_it_when_released(tmp_path):
    database = tmp_path / "db.sqlite3"
    wrapper = DatabaseWrapper(settings_for(database), alias="queued")
    waiter = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('got it', flush=True)"
    )
    try:
        wrapper.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        other = subprocess.Popen(
            [sys.executable, "-c", waiter, f"{database}.write-lock"], stdout=subprocess.PIPE, text=True
        )
        with pytest.raises(subprocess.TimeoutExpired):
            other.wait(timeout=0.5)  # queued behind this transaction
        wrapper.commit()
        assert other.communicate(timeout=10)[0].strip() == "got it"
    finally:
        wrapper.close()


def test_threads_of_one_process_take_turns(tmp_path):
    database = tmp_path / "db.sqlite3"
    first = DatabaseWrapper(settings_for(database), alias="q1")
    order: list[str] = []
    first.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)

    def other_thread() -> None:
        second = DatabaseWrapper(settings_for(database), alias="q2")
        second.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        order.append("second began")
        second.commit()
        second.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(0.3)
    order.append("first commits")
    first.commit()
    thread.join(10)
    first.close()
    assert order == ["first commits", "second began"]
