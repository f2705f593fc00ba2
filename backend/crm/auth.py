"""The mock CRM's one credential: CRM_API_TOKEN, as a bearer token."""

import hmac

from django.conf import settings


def crm_token_valid(request) -> bool:
    """Whether the request carries CRM_API_TOKEN (compared in constant time)."""
    expected = settings.CRM_API_TOKEN
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)
