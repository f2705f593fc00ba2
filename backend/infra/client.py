"""The client's address, as every rate limit sees it (submissions, live streams, admin logins).

It is taken from X-Forwarded-For only as far as TRUSTED_PROXIES proxies of our own vouch for it: 0
(local mode, nothing in front) uses the socket's peer address and ignores the header; 1 (behind the
bundled nginx, which sets the header to its own peer) uses the last address in it. A client that
writes its own X-Forwarded-For therefore changes nothing. DRF's throttle computes the same thing
from NUM_PROXIES, which is set from the same variable.
"""

from rest_framework.throttling import BaseThrottle


def client_address(request) -> str:
    """The address a request came from (works on Django's WSGI and ASGI requests alike)."""
    # DRF's own computation, configured by REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXIES.
    return BaseThrottle().get_ident(request)
