"""Reads of the mailer: where a submission's confirmation stands right now."""

from mailer.models import EmailDelivery


def delivery_summary(*, submission_id) -> dict | None:
    """The confirmation's status, attempts, next attempt and last error (None before the first attempt)."""
    row = (
        EmailDelivery.objects.filter(submission_id=submission_id)
        .values("status", "attempts", "next_attempt_at", "last_error")
        .first()
    )
    return row
