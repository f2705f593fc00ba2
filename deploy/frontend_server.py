"""Serves the frontend's production build on FRONTEND_PORT: static files, /health, /config.json (the
API's and the live stream's public addresses).

Any other path gets index.html, so the app's own routes (/demo, /submissions/<id>) survive a reload.
"""

import json
import os
from pathlib import Path

from whitenoise import WhiteNoise

DIST = Path(os.environ.get("FRONTEND_DIST", Path(__file__).resolve().parent.parent / "frontend" / "dist"))
API_PUBLIC_URL = os.environ.get("API_PUBLIC_URL") or f"http://localhost:{os.environ.get('API_PORT', '5000')}"
STREAM_PUBLIC_URL = os.environ.get("STREAM_PUBLIC_URL") or f"http://localhost:{os.environ.get('STREAM_PORT', '5001')}"


def _fallback(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/health":
        ok = (DIST / "index.html").is_file()
        body = json.dumps({"status": "ok" if ok else "no build"}).encode()
        start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
        return [body]
    if path == "/config.json":
        start_response("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        config = {"apiBase": API_PUBLIC_URL.rstrip("/"), "streamBase": STREAM_PUBLIC_URL.rstrip("/")}
        return [json.dumps(config).encode()]
    index = DIST / "index.html"
    if not index.is_file():
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"the frontend is not built: run ./deploy.sh build"]
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")])
    return [index.read_bytes()]


app = WhiteNoise(_fallback, root=str(DIST), index_file=True, max_age=3600)
