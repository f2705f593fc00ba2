"""The metrics ports answer only a Host that cannot be a rebound name (finding 11: they answered any)."""

import pytest
import requests
from prometheus_client import CollectorRegistry, Counter

from common.metrics_http import host_allowed, metrics_http_start
from tests.servers import free_port


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:9101", True),
        ("10.0.3.7:9101", True),
        ("[::1]:9101", True),
        ("localhost:9101", True),
        ("LOCALHOST", True),
        ("prometheus-target.internal:9101", True),  # named in METRICS_ALLOWED_HOSTS below
        ("attacker.example:9101", False),
        ("127.0.0.1.nip.io:9101", False),
        ("", False),
    ],
)
def test_which_hosts_are_answered(host, allowed):
    assert host_allowed(host, ("prometheus-target.internal",)) is allowed


def test_a_rebound_name_gets_no_metrics_and_an_address_does():
    registry = CollectorRegistry()
    Counter("probe_total", "A counter to find.", registry=registry).inc()
    port = free_port()
    metrics_http_start(port, "127.0.0.1", registry=registry)
    url = f"http://127.0.0.1:{port}/metrics"
    rebound = requests.get(url, headers={"Host": f"evil.example:{port}"}, timeout=5)
    assert rebound.status_code == 421 and "probe_total" not in rebound.text
    direct = requests.get(url, timeout=5)
    assert direct.status_code == 200 and "probe_total 1.0" in direct.text
