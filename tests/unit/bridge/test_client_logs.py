"""The bridge's Kafka clients log librdkafka's lines through its logger, never raw on stderr: the
dead-letter producer, which only flushes when it parks a record, included."""

import dataclasses
import logging
import re
import socket
from types import SimpleNamespace

from bridge.config import BridgeConfig
from bridge.consumer import Bridge
from tests.servers import wait_until


def test_the_dead_letter_producer_s_lines_reach_the_bridge_s_logger(monkeypatch, caplog, capfd):
    with socket.socket() as sock:  # a port nothing listens on: every connection attempt fails and is logged
        sock.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setattr("bridge.consumer.Consumer", lambda config: SimpleNamespace())  # the producer alone
    bridge = Bridge(dataclasses.replace(BridgeConfig.from_env(), bootstrap_servers=nowhere))
    caplog.set_level(logging.INFO, logger="bridge.consumer")

    def logged() -> list[str]:
        bridge.dead_letters.serve()  # what the bridge's loop does on each pass
        return [r.getMessage() for r in caplog.records if "[bridge-dlq#producer" in r.getMessage()]

    [first, *_] = wait_until(logged, timeout=30, what="a line of the dead-letter producer")
    assert "Connect to" in first or "Connection refused" in first, first
    assert not re.search(r"^%\d\|", capfd.readouterr().err, re.M)
