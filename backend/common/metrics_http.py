"""/metrics over HTTP from a thread, for a name the scraper uses or an address only.

prometheus_client's own server answers any Host header. A web page a developer opens can then have
its own host name resolve to 127.0.0.1 (DNS rebinding) and read the numbers through the browser. A
name cannot be rebound if it is never accepted: here a request must name the server by an IP
address (as Prometheus does when it finds targets by DNS), `localhost`, or one of `allowed_hosts`
(METRICS_ALLOWED_HOSTS); any other Host gets 421 and no metrics.
"""

import ipaddress
import socket
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app


def host_allowed(host_header: str, allowed_hosts: tuple[str, ...] = ()) -> bool:
    """Whether a Host header (with or without its port) names this server acceptably."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:9100
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if not host:
        return False
    if host in ("localhost", *(name.strip().lower() for name in allowed_hosts if name.strip())):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def guarded(app, allowed_hosts: tuple[str, ...] = ()):
    """The WSGI app `app`, answering 421 to a request whose Host is not acceptable."""

    def guarded_app(environ, start_response):
        if not host_allowed(environ.get("HTTP_HOST", ""), allowed_hosts):
            start_response("421 Misdirected Request", [("Content-Type", "text/plain")])
            return [b"Host not accepted: use an IP address, localhost or a name in METRICS_ALLOWED_HOSTS\n"]
        return app(environ, start_response)

    return guarded_app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        """Scrapes are not logged."""


def metrics_http_start(
    port: int, addr: str, *, registry: CollectorRegistry = REGISTRY, allowed_hosts: tuple[str, ...] = ()
) -> None:
    """Serve `registry` on addr:port from a daemon thread; OSError when the port is taken."""

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        address_family = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM)[0][0]

    httpd = make_server(addr, port, guarded(make_wsgi_app(registry), allowed_hosts), Server, _QuietHandler)
    threading.Thread(target=httpd.serve_forever, name=f"metrics-{port}", daemon=True).start()
