"""deploy/frontend_server.py's /config.json: where the browser finds the API and the live stream."""

import importlib.util
import json

import pytest

from tests.servers import REPO

SETTINGS = ("API_PUBLIC_URL", "API_PORT", "STREAM_PUBLIC_URL", "STREAM_PORT")


@pytest.fixture
def config_json(monkeypatch):
    def served(**env: str) -> dict:
        for name in SETTINGS:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        spec = importlib.util.spec_from_file_location("frontend_server", REPO / "deploy" / "frontend_server.py")
        server = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(server)  # it reads the environment when it loads
        statuses = []
        body = b"".join(server._fallback({"PATH_INFO": "/config.json"}, lambda status, _: statuses.append(status)))
        assert statuses == ["200 OK"]
        return json.loads(body)

    return served


def test_the_stream_has_its_own_address_next_to_the_apis(config_json):
    assert config_json() == {"apiBase": "http://localhost:5000", "streamBase": "http://localhost:5001"}
    assert config_json(API_PORT="5100", STREAM_PORT="5101") == {
        "apiBase": "http://localhost:5100",
        "streamBase": "http://localhost:5101",
    }


def test_public_urls_win_over_ports_without_a_trailing_slash(config_json):
    served = config_json(
        STREAM_PORT="5101", STREAM_PUBLIC_URL="https://live.example.org/", API_PUBLIC_URL="https://api.example.org"
    )
    assert served == {"apiBase": "https://api.example.org", "streamBase": "https://live.example.org"}
