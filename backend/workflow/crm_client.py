"""HTTP client of the CRM (CRM_API_BASE, CRM_API_TIMEOUT)."""

import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util import Retry


class CrmError(RuntimeError):
    """The CRM refused the request: retrying will not help."""


class CrmTransientError(RuntimeError):
    """The CRM did not answer, or answered 5xx/429: worth retrying."""


_local = threading.local()

# A kept-alive connection can be closed by the CRM just as a task sends on it ("connection reset").
# Every call is safe to send twice (a create carries its Idempotency-Key, a delete of a gone lead is
# 404, a search reads), so urllib3 sends it once more on a new connection. Answers are never retried
# here: a 5xx or 429 becomes CrmTransientError and the task's own retry policy decides.
_RETRY = Retry(total=1, connect=1, read=1, status=0, other=0, allowed_methods=None, raise_on_status=False)


def _session() -> requests.Session:
    """One session per thread: its connections to the CRM are kept and reused between tasks."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=_RETRY))
        session.mount("https://", HTTPAdapter(max_retries=_RETRY))
        session.headers["Authorization"] = f"Bearer {settings.CRM_API_TOKEN}"
    return session


def _request(method: str, path: str, **kwargs) -> requests.Response:
    try:
        response = _session().request(
            method, f"{settings.CRM_API_BASE}{path}", timeout=settings.CRM_API_TIMEOUT, **kwargs
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise CrmTransientError(f"CRM unreachable: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise CrmTransientError(f"CRM answered {response.status_code} to {method} {path}")
    return response


def crm_lead_create(
    *, payload: dict, idempotency_key: str, inject_failure: int | None = None, latency_ms: int | None = None
) -> str:
    """Create the lead (the CRM returns the same lead again for the same key); return its id."""
    headers = {"Idempotency-Key": idempotency_key}
    if inject_failure:
        headers["X-CRM-Fail"] = str(inject_failure)
    if latency_ms:
        headers["X-CRM-Latency-Ms"] = str(latency_ms)
    response = _request("POST", "/leads/", json=payload, headers=headers)
    if response.status_code not in (200, 201):
        raise CrmError(f"CRM answered {response.status_code}: {response.text[:200]}")
    return str(response.json()["id"])


def crm_lead_delete_by_external_id(*, external_id: str) -> int:
    """Delete every lead made for this external id; return how many there were."""
    return _delete_found({"external_id": external_id})


def crm_leads_delete_by_email(*, email: str) -> int:
    """Delete every lead of this address (any letter case), whoever made it; return how many there were."""
    return _delete_found({"email": email})


def _delete_found(params: dict) -> int:
    """Delete what a lead search finds, page after page (a search returns at most 500)."""
    deleted = 0
    while True:
        response = _request("GET", "/leads/", params=params)
        if response.status_code != 200:
            raise CrmError(f"CRM answered {response.status_code} to a lead search")
        leads = response.json()["results"]
        if not leads:
            return deleted
        for lead in leads:
            gone = _request("DELETE", f"/leads/{lead['id']}/")
            if gone.status_code not in (204, 404):
                raise CrmError(f"CRM answered {gone.status_code} to a delete")
            deleted += gone.status_code == 204
