"""The CRM client over a real loopback socket: what it does when the CRM drops a kept-alive connection."""

import json
import socket
import struct
import threading

import pytest

from workflow import crm_client


class DroppingCrm:
    """Answers its first request on a connection with keep-alive, then resets that connection when the
    next request arrives on it (the race of a server closing an idle connection as a client sends)."""

    def __init__(self, *, status: int = 201):
        self.status = status
        self.requests: list[tuple[int, str]] = []  # (connection number, request line)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection_number = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            connection_number += 1
            threading.Thread(target=self._handle, args=(conn, connection_number), daemon=True).start()

    def _handle(self, conn: socket.socket, number: int) -> None:
        answered = 0
        with conn:
            reader = conn.makefile("rb")
            while line := reader.readline():
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                reader.read(length)
                self.requests.append((number, line.decode().strip()))
                if answered:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # closing with linger 0 sends a reset
                body = json.dumps({"id": f"lead-{len(self.requests)}"}).encode()
                conn.sendall(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (self.status, len(body), body)
                )
                answered += 1

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve_crm(settings, monkeypatch):
    """Start a DroppingCrm answering with the given status and point the client at it."""
    monkeypatch.setattr(crm_client, "_local", threading.local())  # a session of its own, no pooled connection
    started = []

    def start(status: int = 201) -> DroppingCrm:
        started.append(DroppingCrm(status=status))
        settings.CRM_API_BASE = f"http://127.0.0.1:{started[-1].port}/crm"
        return started[-1]

    yield start
    for crm in started:
        crm.close()


def test_a_create_on_a_connection_the_crm_dropped_is_sent_again_on_a_new_one(serve_crm):
    dropping_crm = serve_crm()
    assert crm_client.crm_lead_create(payload={"email": "a@example.org"}, idempotency_key="k-1") == "lead-1"
    assert crm_client.crm_lead_create(payload={"email": "a@example.org"}, idempotency_key="k-1") == "lead-3"
    assert [number for number, _ in dropping_crm.requests] == [1, 1, 2]
    assert all(line.startswith("POST /crm/leads/ ") for _, line in dropping_crm.requests)


def test_an_error_answer_is_not_sent_again_by_the_client(serve_crm):
    crm = serve_crm(status=503)
    with pytest.raises(crm_client.CrmTransientError, match="503"):
        crm_client.crm_lead_create(payload={}, idempotency_key="k-2")
    assert len(crm.requests) == 1  # the task's retry policy decides, not the connection pool
