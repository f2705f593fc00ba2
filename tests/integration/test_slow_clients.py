"""Slow clients do not take the API's threads (finding 7 of "Safe by default, round two"): 40
connections sending their headers a byte at a time made /health time out, since gunicorn's gthread
gave each a thread that blocked reading. The API's worker (config/gunicorn_worker.py) now reads a
request on its event loop until it has arrived, and drops one that takes too long."""

import socket
import threading

import pytest
import requests

from tests.servers import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]

SLOW_CLIENTS = 40  # the test stack's API has one worker of 8 threads


def trickle(port: int, stop: threading.Event, opened: list, sent: list) -> None:
    """A request head sent a byte every 0.2 s (the attack's pace), never finished."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    opened.append(sock)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        while not stop.wait(0.2):
            sock.sendall(b"X")
            sent.append(1)
    except OSError:  # dropped by the API: what should happen in the end
        pass


def test_slow_clients_do_not_block_health_and_are_dropped(stack):
    port = int(stack.ports["api"])
    stop, opened, sent = threading.Event(), [], []
    threads = [
        threading.Thread(target=trickle, args=(port, stop, opened, sent), daemon=True) for _ in range(SLOW_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(opened) == SLOW_CLIENTS, what="the slow clients to connect")
        # Every client is trickling (a few bytes each past its first line) while /health is asked.
        wait_until(lambda: len(sent) >= 3 * SLOW_CLIENTS, what="the slow clients to be sending")
        for _ in range(5):
            assert requests.get(f"{stack.api}/health", timeout=3).status_code == 200
        # A body that arrives in pieces is still served, once it is all in.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            body = b'{"name": "x"}'
            sock.sendall(b"POST /api/submissions/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
            sock.sendall(b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):  # no answer while the declared body has not arrived
                sock.recv(1)
            sock.settimeout(10)
            sock.sendall(body)
            assert sock.recv(65536).startswith(b"HTTP/1.1 400")
        # Past API_REQUEST_TIMEOUT (10 s) the API closes the unfinished requests.
        wait_until(
            lambda: all(not thread.is_alive() for thread in threads), timeout=20, what="the slow clients dropped"
        )
    finally:
        stop.set()
        for sock in opened:
            sock.close()
    assert "dropping a request that took over 10 s to arrive" in stack.procs.log("api")
