"""deploy/frontend_server.py (local mode): /config.json (where the browser finds the API and the live
stream, and whether the demo controls show), the security headers on every response, and no source
maps."""

import importlib.util
import json
from wsgiref.util import setup_testing_defaults

import pytest

from tests.servers import REPO

SETTINGS = ("API_PUBLIC_URL", "API_PORT", "STREAM_PUBLIC_URL", "STREAM_PORT", "DEMO_CONTROLS", "FRONTEND_DIST")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.fixture
def dist(tmp_path):
    """A built frontend, with the source map a misconfigured build would leave next to its bundle."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><script type="module" src="/assets/app.js"></script>')
    (tmp_path / "assets" / "app.js").write_text("console.log('app');\n//# sourceMappingURL=app.js.map\n")
    (tmp_path / "assets" / "app.js.map").write_text('{"version":3,"sources":["src/secret.tsx"]}')
    return tmp_path


@pytest.fixture
def server(monkeypatch, dist):
    def loaded(**env: str):
        for name in SETTINGS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("FRONTEND_DIST", str(dist))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        spec = importlib.util.spec_from_file_location("frontend_server", REPO / "deploy" / "frontend_server.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # it reads the environment when it loads
        return module

    return loaded


def get(server, path: str) -> tuple[str, dict[str, str], bytes]:
    """One GET through the WSGI app gunicorn runs (WhiteNoise in front of the fallback)."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    started = []
    body = b"".join(server.app(environ, lambda status, headers, exc_info=None: started.append((status, headers))))
    ((status, headers),) = started
    return status, dict(headers), body


@pytest.fixture
def config_json(server):
    def served(**env: str) -> dict:
        status, _, body = get(server(**env), "/config.json")
        assert status == "200 OK"
        return json.loads(body)

    return served


def test_the_stream_has_its_own_address_next_to_the_apis(config_json):
    assert config_json() == {
        "apiBase": "http://localhost:5000",
        "streamBase": "http://localhost:5001",
        "demoControls": False,
    }
    served = config_json(API_PORT="5100", STREAM_PORT="5101")
    assert (served["apiBase"], served["streamBase"]) == ("http://localhost:5100", "http://localhost:5101")


def test_public_urls_win_over_ports_without_a_trailing_slash(config_json):
    served = config_json(
        STREAM_PORT="5101", STREAM_PUBLIC_URL="https://live.example.org/", API_PUBLIC_URL="https://api.example.org"
    )
    assert (served["apiBase"], served["streamBase"]) == ("https://api.example.org", "https://live.example.org")


@pytest.mark.parametrize(("value", "shown"), [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True)])
def test_demo_controls_show_when_switched_on(config_json, value, shown):
    assert config_json(DEMO_CONTROLS=value)["demoControls"] is shown


@pytest.mark.parametrize("value", ["false", "0", "no", "", "maybe"])
def test_demo_controls_stay_hidden_otherwise(config_json, value):
    assert config_json(DEMO_CONTROLS=value)["demoControls"] is False


@pytest.mark.parametrize("path", ["/", "/demo", "/assets/app.js", "/config.json", "/health", "/missing.map"])
def test_every_response_carries_the_security_headers(server, path):
    _, headers, _ = get(server(), path)
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, (path, name)
    assert "Content-Security-Policy" in headers


def test_static_files_are_still_served_by_whitenoise(server):
    status, headers, body = get(server(), "/assets/app.js")
    assert status == "200 OK" and body.startswith(b"console.log")
    assert "max-age=3600" in headers["Cache-Control"]


def test_the_csp_runs_only_our_scripts_and_connects_to_the_api_and_stream_origins(server):
    loaded = server(API_PUBLIC_URL="https://api.example.org/v1/", STREAM_PUBLIC_URL="https://live.example.org:8443/")
    _, headers, _ = get(loaded, "/")
    policy = {part.split()[0]: part.split()[1:] for part in headers["Content-Security-Policy"].split(";")}
    assert policy["connect-src"] == ["'self'", "https://api.example.org", "https://live.example.org:8443"]
    assert policy["script-src"] == policy["style-src"] == policy["default-src"] == ["'self'"]
    assert policy["object-src"] == policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


def test_the_csp_names_the_default_local_addresses(server):
    _, headers, _ = get(server(), "/config.json")
    assert "connect-src 'self' http://localhost:5000 http://localhost:5001;" in headers["Content-Security-Policy"]


def test_the_same_csp_as_nginx_apart_from_connect_src(server):
    template = (REPO / "deploy" / "nginx.conf.template").read_text()
    nginx = template.split('add_header Content-Security-Policy "', 1)[1].split('"', 1)[0]
    _, headers, _ = get(server(), "/")
    ours = headers["Content-Security-Policy"]
    assert nginx.split("connect-src")[0] == ours.split("connect-src")[0]
    assert nginx.split("; font-src")[1] == ours.split("; font-src")[1]


def test_a_source_map_is_not_found_even_when_the_build_has_one(server, dist):
    assert (dist / "assets" / "app.js.map").is_file()
    status, headers, body = get(server(), "/assets/app.js.map")
    assert status == "404 Not Found"
    assert b"secret" not in body
    assert headers["X-Content-Type-Options"] == "nosniff"
