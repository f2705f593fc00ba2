"""Serves the frontend's production build on FRONTEND_PORT in local mode: static files, /health,
/config.json (the API's and the live stream's public addresses, and whether the demo controls show).

Any other path gets index.html, so the app's own routes (/demo, /submissions/<id>) survive a reload.
Every response carries the security headers and the Content-Security-Policy of Compose's nginx
(deploy/nginx.conf.template), and no source map is ever served, even if the build left one.
"""

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from whitenoise import WhiteNoise

from common.defaults import Settings

DIST = Path(os.environ.get("FRONTEND_DIST", Path(__file__).resolve().parent.parent / "frontend" / "dist"))
SETTINGS = Settings()  # the environment, with the one table's defaults (common.defaults)
API_PUBLIC_URL = SETTINGS["API_PUBLIC_URL"]
STREAM_PUBLIC_URL = SETTINGS["STREAM_PUBLIC_URL"]
DEMO_CONTROLS = SETTINGS["DEMO_CONTROLS"].strip().lower() in {"1", "true", "yes", "on"}


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: what a CSP source needs, without a path that would narrow it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


CONNECT_SRC = " ".join(dict.fromkeys(["'self'", _origin(API_PUBLIC_URL), _origin(STREAM_PUBLIC_URL)]))
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    f"connect-src {CONNECT_SRC}; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]


def _fallback(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        ok = (DIST / "index.html").is_file()
        body = json.dumps({"status": "ok" if ok else "no build"}).encode()
        start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
        return [body]
    if path == "/config.json":
        start_response("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        config = {
            "apiBase": API_PUBLIC_URL.rstrip("/"),
            "streamBase": STREAM_PUBLIC_URL.rstrip("/"),
            "demoControls": DEMO_CONTROLS,
        }
        return [json.dumps(config).encode()]
    index = DIST / "index.html"
    if not index.is_file():
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"the frontend is not built: run ./deploy.sh build"]
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")])
    return [index.read_bytes()]


_static = WhiteNoise(_fallback, root=str(DIST), index_file=True, max_age=3600)


def app(environ, start_response):
    """The WSGI entry point: WhiteNoise's files or _fallback, each response with SECURITY_HEADERS."""

    def with_security_headers(status, headers, exc_info=None):
        return start_response(status, [*headers, *SECURITY_HEADERS], exc_info)

    # Checked before WhiteNoise, which would serve a map that is in the build.
    if environ.get("PATH_INFO", "").endswith(".map"):
        with_security_headers("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    return _static(environ, with_security_headers)
