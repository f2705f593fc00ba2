"""`manage.py erase`: one person's submissions go, in every spelling of their mailbox, with everything
hanging off them; other people's stay; the CRM is asked first, and a CRM that cannot be reached
stops the erasure before anything local is gone."""

import io

import pytest
from django.core.management import CommandError, call_command

from intake.models import Submission, TimelineEntry
from intake.services import submission_create
from mailer.message import recipient_key
from mailer.models import EmailDelivery
from outbox.models import OutboxEvent
from pipeline import erasure
from workflow.crm_client import CrmTransientError

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(monkeypatch):
    """The CRM's side, recorded: which external ids and addresses it was asked to erase."""
    asked: dict[str, list[str]] = {"external_ids": [], "emails": []}

    def by_id(*, external_id):
        found = external_id not in asked["external_ids"]  # one lead each, gone after the first ask
        asked["external_ids"].append(external_id)
        return int(found)

    def by_email(*, email):
        asked["emails"].append(email)
        return 0

    monkeypatch.setattr(erasure, "crm_lead_delete_by_external_id", by_id)
    monkeypatch.setattr(erasure, "crm_leads_delete_by_email", by_email)
    return asked


def with_delivery(submission: Submission) -> Submission:
    EmailDelivery.objects.create(
        submission=submission, recipient=submission.email, recipient_key=recipient_key(submission.email)
    )
    return submission


def test_every_spelling_of_the_mailbox_is_erased_and_no_one_else(crm):
    plain = with_delivery(submission_create(name="Erin", email="erin@example.org", message="one"))
    upper = submission_create(name="Erin", email="ERIN@Example.org", message="two")  # no mail row yet
    tagged = with_delivery(submission_create(name="Erin", email="erin+news@example.org", message="three"))
    other = with_delivery(submission_create(name="Olga", email="olga@example.org", message="stays"))

    out = io.StringIO()
    call_command("erase", "--email", "Erin@example.org", stdout=out)

    erased = {str(plain.id), str(upper.id), str(tagged.id)}
    assert "Erased 3 submission(s) and 3 CRM lead(s)" in out.getvalue()
    assert list(Submission.objects.values_list("id", flat=True)) == [other.id]
    assert not TimelineEntry.objects.filter(submission_id__in=erased).exists()
    assert not OutboxEvent.objects.filter(key__in=erased).exists()
    assert OutboxEvent.objects.filter(key=str(other.id)).count() == 1
    assert list(EmailDelivery.objects.values_list("recipient", flat=True)) == ["olga@example.org"]
    # Asked before and after the local delete (a lead created meanwhile goes too), by id and by address.
    assert sorted(crm["external_ids"]) == sorted([*erased, *erased])
    assert crm["emails"] == ["Erin@example.org", "Erin@example.org"]


def test_a_dry_run_erases_nothing_and_asks_no_one(crm):
    submission_create(name="Erin", email="erin@example.org", message="one")
    out = io.StringIO()
    call_command("erase", "--email", "erin@example.org", "--dry-run", stdout=out)
    assert "1 submission(s) would be erased" in out.getvalue()
    assert Submission.objects.count() == 1 and crm == {"external_ids": [], "emails": []}


def test_a_crm_that_cannot_be_reached_stops_the_erasure_before_anything_is_gone(monkeypatch):
    def unreachable(**_):
        raise CrmTransientError("CRM unreachable: connection refused")

    monkeypatch.setattr(erasure, "crm_lead_delete_by_external_id", unreachable)
    submission_create(name="Erin", email="erin@example.org", message="one")
    with pytest.raises(CommandError, match="nothing erased: the CRM could not erase its copy"):
        call_command("erase", "--email", "erin@example.org")
    assert Submission.objects.count() == 1 and OutboxEvent.objects.count() == 1


def test_an_address_that_is_not_one_is_refused():
    with pytest.raises(CommandError, match="is not an email address"):
        call_command("erase", "--email", "not-an-address")


def test_the_admin_action_erases_the_selected_people(crm, admin_client):
    erin = submission_create(name="Erin", email="erin@example.org", message="one")
    also_erin = submission_create(name="Erin", email="Erin@Example.org", message="two")
    olga = submission_create(name="Olga", email="olga@example.org", message="stays")
    response = admin_client.post(
        "/admin/intake/submission/",
        {"action": "erase_people", "_selected_action": [str(erin.id)]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Erased 1 person(s): 2 submission(s)" in response.content.decode()
    assert list(Submission.objects.values_list("id", flat=True)) == [olga.id]
    assert sorted(crm["external_ids"]) == sorted([str(erin.id), str(also_erin.id)] * 2)
