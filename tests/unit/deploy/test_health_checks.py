"""deploy/health.py's count of the processes that share a port (a scaled API or stream)."""

import importlib.util
import socket

import pytest

from tests.servers import REPO


@pytest.fixture(scope="module")
def health():
    spec = importlib.util.spec_from_file_location("deploy_health", REPO / "deploy" / "health.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reuse_port_listener(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_each_process_bound_to_a_shared_port_is_one_listener(health):
    first = reuse_port_listener()
    port = first.getsockname()[1]
    try:
        assert health.listeners(port) == 1
        second = reuse_port_listener(port)
        assert health.listeners(port) == 2
        connected = socket.create_connection(("127.0.0.1", port))  # an established socket is no listener
        assert health.listeners(port) == 2
        connected.close()
        second.close()
        assert health.listeners(port) == 1
    finally:
        first.close()
    assert health.listeners(port) == 0


def test_a_bound_socket_that_does_not_listen_is_not_counted(health):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        assert health.listeners(sock.getsockname()[1]) == 0
    finally:
        sock.close()


def test_fewer_listeners_than_processes_is_down_with_the_count(health, monkeypatch):
    monkeypatch.setattr(health, "listeners", lambda port: 1)
    with pytest.raises(RuntimeError, match="1 of 2 processes listen on API_PORT"):
        health._replicas_listening("API_PORT", 2)
    assert health._replicas_listening("API_PORT", 1) == ""
