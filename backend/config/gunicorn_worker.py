"""gunicorn's gthread worker that gives a thread only to a request that has fully arrived (slowloris).

gthread hands a connection to a thread as soon as its first bytes arrive, and the thread then reads
the request line, the headers and the body with a blocking socket and no time limit (gunicorn has
no header timeout). A client that sends its request a byte at a time holds that thread as long as it
likes: 40 such clients took every thread of the local API, and /health timed out.

Here the worker's own event loop reads the request first, without blocking, as a buffering proxy
would: the head up to its blank line, then a body of known length up to MAX_REQUEST_BODY_BYTES.
Only then does a thread take the connection, with those bytes handed to gunicorn's parser, so a
slow client costs a buffer, not a thread. A request that has not fully arrived after
API_REQUEST_TIMEOUT seconds is dropped. A chunked body, or one larger than the limit,
goes to a thread when its head is in (Django answers 413 to the latter). Behind nginx, as in
Compose, nginx buffers first anyway; this holds where the API faces clients itself.

A stopping worker also closes its listening sockets at once (stop_listening), so that a replica on
the same port takes the new connections while this one finishes its requests.
"""

import os
import re
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

from common.defaults import Settings

HEAD_END = b"\r\n\r\n"
HEAD_LIMIT = 64 * 1024  # larger heads go to gunicorn's parser, which refuses them with its own limits
CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,12})[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def request_timeout() -> float:
    return float(Settings()["API_REQUEST_TIMEOUT"])


def body_limit() -> int:
    return int(Settings()["MAX_REQUEST_BODY_BYTES"])


def complete_length(buffer: bytes | bytearray, limit: int) -> int | None:
    """How many bytes the request in `buffer` has in all, once its head is in (None: not yet known).
    A body that is chunked or over `limit` counts as nothing: a thread reads it."""
    end = buffer.find(HEAD_END)
    if end < 0:
        return len(buffer) if len(buffer) >= HEAD_LIMIT else None
    head = buffer[:end]
    found = CONTENT_LENGTH.search(head)
    body = int(found.group(1)) if found else 0
    return end + len(HEAD_END) + (body if body <= limit else 0)


class BufferedRequestWorker(ThreadWorker):
    def init_process(self):
        self.request_timeout = request_timeout()
        self.body_limit = body_limit()
        self.arriving: dict[object, float] = {}  # connection → deadline, while its request arrives
        super().init_process()

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            self.stop_listening()

    def stop_listening(self) -> None:
        """On the way out, before the in-flight requests finish: take in what waits in the listening
        sockets' queues, then close them. While this process holds a listening socket the kernel goes
        on queueing new connections on it that nobody accepts, and resets them when it exits; closed,
        the socket leaves the port's SO_REUSEPORT group, and new connections go to the replicas that
        stay (`./deploy.sh restart-service api` with two)."""
        for listener in self.sockets:
            while True:
                waiting = self.nr_conns
                self.accept(listener)  # served as any other (the grace period waits for them)
                if self.nr_conns == waiting:
                    break
            listener.close()

    def enqueue_req(self, conn):
        """Called on the event loop for a new connection, or a kept-alive one that became readable."""
        if getattr(conn, "arrived", None) is not None or (conn.parser and conn.parser.unreader.buf.getvalue()):
            # Arrived in full, or bytes of a next request already read by gunicorn: a thread's turn.
            return super().enqueue_req(conn)
        conn.buffer = bytearray()
        conn.sock.setblocking(False)
        self.arriving[conn] = time.monotonic() + self.request_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))

    def on_request_bytes(self, conn, sock):
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its request was in
            self.drop(conn)
            return
        conn.buffer += data
        needed = complete_length(conn.buffer, self.body_limit)
        if needed is None or len(conn.buffer) < needed:
            return
        self.poller.unregister(sock)
        del self.arriving[conn]
        conn.arrived, conn.buffer = bytes(conn.buffer), None
        conn.data_ready = True
        super().enqueue_req(conn)

    def handle(self, conn):
        """On a thread: give the bytes that arrived to gunicorn's parser, then serve as gthread does."""
        arrived, conn.arrived = getattr(conn, "arrived", None), None
        if arrived:
            conn.init()  # the parser of a new connection (a kept-alive one has it)
            unreader = conn.parser.unreader
            unreader.buf.seek(0, os.SEEK_END)  # after any bytes it holds already
            unreader.buf.write(arrived)
        return super().handle(conn)

    def drop(self, conn) -> None:
        self.arriving.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        conn.close()

    def murder_keepalived(self, force=False):
        """Also drop requests that did not arrive in time (every connection, when stopping)."""
        super().murder_keepalived(force)
        now = time.monotonic()
        for conn in [conn for conn, deadline in self.arriving.items() if force or deadline <= now]:
            self.log.info("dropping a request that took over %.0f s to arrive", self.request_timeout)
            self.drop(conn)
