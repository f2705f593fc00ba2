"""The console's reads of the database: the outbox backlog (what Kafka does not have yet), submissions."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from intake.models import Submission
from outbox.models import OutboxEvent


@dataclass(frozen=True)
class OutboxBacklog:
    unpublished: int
    oldest_created_at: datetime | None
    oldest_age: timedelta | None
    claimed: int  # under a relay's live claim (being published now)
    claims_expired: int  # claimed by a relay that did not finish in time: the next claim takes them
    with_error: int  # the last attempt failed (its error is on the row)


def outbox_backlog(*, now: datetime | None = None) -> OutboxBacklog:
    """The unpublished outbox rows: how many, how old the oldest, how many are claimed."""
    now = now or timezone.now()
    totals = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(
        unpublished=Count("id"),
        oldest=Min("created_at"),
        claimed=Count("id", filter=Q(claimed_until__gte=now)),
        claims_expired=Count("id", filter=Q(claimed_until__lt=now)),
        with_error=Count("id", filter=~Q(last_error="")),
    )
    oldest = totals["oldest"]
    return OutboxBacklog(
        unpublished=totals["unpublished"],
        oldest_created_at=oldest,
        oldest_age=now - oldest if oldest else None,
        claimed=totals["claimed"],
        claims_expired=totals["claims_expired"],
        with_error=totals["with_error"],
    )


def submission_exists(submission_id: str) -> bool:
    """Whether the database holds a submission with this id (a Kafka key need not be one)."""
    return Submission.objects.filter(pk=submission_id).exists()
