"""config/stream_server.py: stream processes can share one port (./deploy.sh scale stream N)."""

import socket

import pytest

from config.stream_server import listening_socket


def test_two_stream_processes_bind_one_port_and_a_plain_socket_cannot():
    first = listening_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = listening_socket("127.0.0.1", port)  # a second replica: SO_REUSEPORT on both
    try:
        first.listen()
        second.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass  # the kernel hands the connection to one of the two
        plain = socket.socket()
        with pytest.raises(OSError):  # anything else on the port is refused, as before
            plain.bind(("127.0.0.1", port))
        plain.close()
    finally:
        first.close()
        second.close()
