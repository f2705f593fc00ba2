"""Who may read a submission: whoever holds its access token (until it expires), and staff.

The submit response carries the token once; only its SHA-256 is stored, so the database alone does
not open anything. A reader sends it as `Authorization: Bearer <token>`; the live stream, which a
browser's EventSource opens without headers, also takes `?access_token=` (the stream process writes
no access log, and the bundled nginx logs paths without their query). A submission's id alone,
which lands in logs and URLs, reads nothing.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from intake.models import Submission


def access_token_new() -> tuple[str, str]:
    """A new token and the digest to store."""
    token = secrets.token_urlsafe(32)
    return token, access_token_digest(token)


def access_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_expires_at(submission: Submission) -> datetime:
    return submission.created_at + settings.SUBMISSION_ACCESS_TTL


@dataclass(frozen=True)
class Denied:
    status: int  # 401: no token; 403: a wrong or expired one
    detail: str


NO_TOKEN = Denied(401, "This submission's details need its access token (Authorization: Bearer <token>).")
WRONG_TOKEN = Denied(403, "This access token does not open this submission.")
EXPIRED_TOKEN = Denied(403, "This access token has expired.")


def bearer_token(headers, query=None) -> str:
    """The token of a request: its Authorization header, else (streams) its access_token parameter."""
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (query.get("access_token") or "") if query is not None else ""


def access_check(*, submission: Submission, token: str, now: datetime | None = None) -> Denied | None:
    """None when `token` opens `submission` now, else why not."""
    if not token:
        return NO_TOKEN
    if not submission.access_token_hash or not hmac.compare_digest(
        submission.access_token_hash, access_token_digest(token)
    ):
        return WRONG_TOKEN
    if (now or timezone.now()) >= access_expires_at(submission):
        return EXPIRED_TOKEN
    return None
