"""Injected latency and failures, by environment (every request) or by request header (one request)."""

import random
import time
from functools import wraps

from django.conf import settings
from django.http import JsonResponse

from crm.auth import crm_token_valid

LATENCY_HEADER = "X-CRM-Latency-Ms"
FAIL_HEADER = "X-CRM-Fail"
MAX_LATENCY_MS = 60_000


def _int_header(request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def inject_faults(view):
    """Wait CRM_LATENCY_MS (or the header's value), then fail at CRM_FAIL_RATE (or with the header's status)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not crm_token_valid(request):  # no fault, no delay for a stranger: the view refuses it at once
            return view(request, *args, **kwargs)
        latency = _int_header(request, LATENCY_HEADER)
        latency = settings.CRM_LATENCY_MS if latency is None else latency
        if latency > 0:
            time.sleep(min(latency, MAX_LATENCY_MS) / 1000)  # the server is asked to be slow
        status = _int_header(request, FAIL_HEADER)
        failing = settings.CRM_FAIL_RATE > 0 and request.method in settings.CRM_FAIL_METHODS
        if status is None and failing and random.random() < settings.CRM_FAIL_RATE:  # noqa: S311 (fault injection)
            status = settings.CRM_FAIL_STATUS
        if status is not None and 400 <= status <= 599:
            return JsonResponse({"detail": f"injected failure ({status})"}, status=status)
        return view(request, *args, **kwargs)

    return wrapper
