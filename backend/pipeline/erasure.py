"""Erasure (the right to erasure): one person's data removed from every copy the stack keeps.

Where a visitor's name, address, company and message live, and what erasure does there:

- `intake.Submission` and what cascades from it (timeline, email delivery, saga run and steps, the
  workflow's lead): deleted. Submissions are found by their address in any letter case, and by the
  mailbox key of their confirmation (`"Ada+news"@Example.org` is ada@example.org).
- `outbox.OutboxEvent` rows keyed by those submissions: deleted (published or not; an unpublished
  one would only announce a submission that is gone).
- The CRM: its leads for those submissions and for the address, deleted over its API (first, so a
  CRM that cannot be reached stops the erasure before anything local is gone: run it again).
- Kafka and its dead-letter topic: nothing to do. Events carry ids only (events/types.py); the
  version 1 events of older releases, which did carry personal data, age out with the topic's
  retention (KAFKA_RETENTION_HOURS).
- SQLite keeps no trace: `secure_delete` overwrites deleted rows, and a WAL checkpoint afterwards
  clears the copies in the write-ahead log. (On PostgreSQL, VACUUM reclaims the dead rows later.)
- Logs name submissions by id, never by address; the SMTP catcher's store (a stand-in for the
  visitor's own inbox) forgets mail after SMTP_CATCHER_RETENTION_HOURS.
"""

import dataclasses
import logging

from django.db import transaction
from django.db.models import Q

from infra.sqlite import forget_deleted_pages
from intake.models import Submission
from mailer.message import recipient_key
from mailer.models import EmailDelivery
from outbox.models import OutboxEvent
from workflow.crm_client import crm_lead_delete_by_external_id, crm_leads_delete_by_email

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Erasure:
    """What an erasure found and removed."""

    submissions: list[str]
    crm_leads: int = 0
    rows: dict[str, int] = dataclasses.field(default_factory=dict)


def person_submissions(*, email: str) -> list[str]:
    """Ids of the submissions made with this address, in any spelling of its mailbox."""
    key = recipient_key(email)
    found = Submission.objects.filter(
        Q(email__iexact=email.strip()) | Q(id__in=EmailDelivery.objects.filter(recipient_key=key).values("submission"))
    )
    return [str(pk) for pk in found.values_list("id", flat=True)]


def person_erase(*, email: str, dry_run: bool = False) -> Erasure:
    """Remove everything the stack keeps about the person with this address; see the module's doc."""
    erasure = Erasure(submissions=person_submissions(email=email))
    if dry_run:
        return erasure
    erasure.crm_leads = _crm_erase(erasure.submissions, email)
    with transaction.atomic():
        erasure.rows[OutboxEvent._meta.label] = OutboxEvent.objects.filter(key__in=erasure.submissions).delete()[0]
        _, by_model = Submission.objects.filter(id__in=erasure.submissions).delete()
        erasure.rows.update(by_model)
    # A saga step that was creating a lead while the rows went creates it with the data it read
    # before: look again now that no step can read them any more.
    erasure.crm_leads += _crm_erase(erasure.submissions, email)
    forget_deleted_pages()
    logger.info("erasure: %d submissions, %d CRM leads removed", len(erasure.submissions), erasure.crm_leads)
    return erasure


def _crm_erase(submission_ids: list[str], email: str) -> int:
    deleted = sum(crm_lead_delete_by_external_id(external_id=pk) for pk in submission_ids)
    return deleted + crm_leads_delete_by_email(email=email.strip())
