"""The admin: what operators find, filter and do, and what they cannot change."""

import itertools
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events import (
    EmailDispatched,
    EmailFailed,
    WorkflowCompensated,
    WorkflowCompensationFailed,
    WorkflowCompleted,
    WorkflowStepCompleted,
)
from intake.models import Submission, TimelineEntry
from intake.services import submission_create
from mailer.models import EmailDelivery
from outbox.models import OutboxEvent
from pipeline.selectors import submission_state
from pipeline.submission_admin import STATUSES
from tests.unit.ops.test_operator_surfaces import ADMIN_PAGES
from workflow.models import Lead, SagaRun, SagaStep

pytestmark = pytest.mark.django_db

PAGES = ADMIN_PAGES  # every model of the pipeline that the admin lists
# Written by the pipeline, so never added, changed or deleted one by one.
PIPELINE_ROWS = [
    "intake_timelineentry",
    "outbox_outboxevent",
    "mailer_emaildelivery",
    "workflow_sagarun",
    "workflow_lead",
]


def compensated_submission(**fields) -> Submission:
    """A submission whose email failed and whose saga was undone, one undo failing, as the pipeline leaves it."""
    submission = submission_create(**{"name": "Ada", "email": "ada@example.org", "message": "Hi", **fields})
    now = timezone.now()
    EmailDelivery.objects.create(
        submission=submission, recipient=submission.email, status=EmailDelivery.Status.FAILED, last_error="550"
    )
    run = SagaRun.objects.create(
        submission=submission, status=SagaRun.Status.COMPENSATION_FAILED, failed_step="create_crm_lead", reason="503"
    )
    SagaStep.objects.create(run=run, name="tag_lead", status=SagaStep.Status.COMPENSATED, compensated_at=now)
    SagaStep.objects.create(run=run, name="assign_owner", status=SagaStep.Status.UNDO_FAILED, undo_error="owner gone")
    Lead.objects.create(submission=submission, tags=["web-form"])
    return submission


def changelist(client, page: str, **query):
    response = client.get(reverse(f"admin:{page}_changelist"), query)
    assert response.status_code == 200
    return response


def listed(response) -> set:
    return {obj.pk for obj in response.context["cl"].queryset}


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_the_login(client, page):
    response = client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_anonymous_visitors_see_no_submission_page(client):
    submission = compensated_submission()
    response = client.get(reverse("admin:intake_submission_change", args=[submission.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("field", ["email", "name", "company", "correlation_id", "id"])
def test_submissions_are_found_by_email_name_company_or_their_ids(admin_client, field):
    wanted = submission_create(name="Grace Hopper", email="grace@navy.example", company="Navy", message="Hi")
    submission_create(name="Ada Lovelace", email="ada@example.org", company="Engines", message="Hi")
    term = str(getattr(wanted, field))
    assert listed(changelist(admin_client, "intake_submission", q=term)) == {wanted.pk}


def test_submissions_are_filtered_by_date(admin_client):
    today = submission_create(name="Ada", email="ada@example.org", message="Hi")
    old = submission_create(name="Old", email="old@example.org", message="Hi")
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    week = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=7)
    # The "Past 7 days" link of the date filter.
    page = changelist(admin_client, "intake_submission", created_at__gte=str(week))
    assert listed(page) == {today.pk}


def _submission_in(types: tuple[str, ...], *, published: bool, handed_off: bool) -> Submission:
    submission = submission_create(name="Ada", email=f"{uuid.uuid4().hex[:8]}@example.org", message="Hi")
    now = timezone.now()
    if published:
        OutboxEvent.objects.filter(key=str(submission.id)).update(published_at=now)
    if handed_off:
        TimelineEntry.objects.filter(submission=submission).update(delivered_at=now)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(submission=submission, event_id=uuid.uuid4(), event_type=kind, occurred_at=now) for kind in types
    )
    return submission


def test_the_status_filter_agrees_with_the_status_the_api_shows(admin_client):
    """Every combination of the events a status depends on, and of how far the first event got."""
    kinds = [
        EmailDispatched.TYPE,
        EmailFailed.TYPE,
        WorkflowCompleted.TYPE,
        WorkflowCompensated.TYPE,
        WorkflowCompensationFailed.TYPE,
        WorkflowStepCompleted.TYPE,
    ]
    submissions = [
        _submission_in(types, published=published, handed_off=handed_off)
        for size in range(len(kinds) + 1)
        for types in itertools.combinations(kinds, size)
        for published, handed_off in itertools.product((False, True), repeat=2)
    ]
    expected = {status: set() for status in STATUSES}
    for submission in submissions:
        expected[submission_state(submission=submission).status].add(submission.pk)
    assert all(expected.values())  # each status is reached by some combination
    for status in STATUSES:
        assert listed(changelist(admin_client, "intake_submission", status=status)) == expected[status], status


def test_a_submissions_page_shows_its_timeline_email_and_saga_run(admin_client):
    submission = compensated_submission()
    response = admin_client.get(reverse("admin:intake_submission_change", args=[submission.id]))
    assert response.status_code == 200
    page = response.content.decode()
    for shown in ("Timeline entries", "ContactFormSubmitted", "Confirmation email", "550", "COMPENSATION_FAILED"):
        assert shown in page, shown
    assert reverse("admin:workflow_sagarun_change", args=[submission.saga_run.pk]) in page


def test_a_saga_runs_page_shows_its_steps_and_compensations(admin_client):
    run = compensated_submission().saga_run
    response = admin_client.get(reverse("admin:workflow_sagarun_change", args=[run.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for shown in ("Steps", "Compensations", "tag_lead", "COMPENSATED", "UNDO_FAILED", "owner gone"):
        assert shown in page, shown


@pytest.mark.parametrize(
    "page, query",
    [
        ("intake_timelineentry", {"event_type": "ContactFormSubmitted"}),
        ("outbox_outboxevent", {"q": "ContactFormSubmitted"}),
        ("outbox_outboxevent", {"event_type": "ContactFormSubmitted"}),
        ("mailer_emaildelivery", {"status": "FAILED"}),
        ("mailer_emaildelivery", {"q": "ada@example.org"}),
        ("workflow_sagarun", {"status": "COMPENSATION_FAILED"}),
        ("workflow_sagarun", {"failed_step": "create_crm_lead"}),
        ("workflow_sagarun", {"q": "ada@example.org"}),
    ],
)
def test_pipeline_pages_render_with_their_filters_and_search(admin_client, page, query):
    compensated_submission()
    assert len(listed(changelist(admin_client, page, **query))) == 1


def test_outbox_rows_are_filtered_by_whether_kafka_has_them_and_found_by_key(admin_client):
    sent, waiting = compensated_submission(), submission_create(name="Bo", email="bo@example.org", message="Hi")
    OutboxEvent.objects.filter(key=str(sent.id)).update(published_at=timezone.now())
    published = set(OutboxEvent.objects.filter(key=str(sent.id)).values_list("pk", flat=True))
    unpublished = set(OutboxEvent.objects.filter(key=str(waiting.id)).values_list("pk", flat=True))
    assert listed(changelist(admin_client, "outbox_outboxevent", published="yes")) == published
    assert listed(changelist(admin_client, "outbox_outboxevent", published="no")) == unpublished
    assert listed(changelist(admin_client, "outbox_outboxevent", q=str(waiting.id))) == unpublished


def test_the_retry_action_sends_a_failed_email_again(admin_client):
    delivery = compensated_submission().email_delivery
    sent = EmailDelivery.objects.create(
        submission=submission_create(name="Bo", email="bo@example.org", message="Hi"),
        recipient="bo@example.org",
        status=EmailDelivery.Status.SENT,
    )
    response = admin_client.post(
        reverse("admin:mailer_emaildelivery_changelist"),
        {"action": "retry_failed", "_selected_action": [delivery.pk, sent.pk]},
        follow=True,
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    sent.refresh_from_db()
    assert delivery.status == EmailDelivery.Status.RETRYING and delivery.next_attempt_at is not None
    assert sent.status == EmailDelivery.Status.SENT
    assert "1 email(s) queued to be sent again (1 not FAILED" in response.content.decode()


def _form_post(admin_client, page: str, pk, data: dict):
    return admin_client.post(reverse(f"admin:{page}_change", args=[pk]), data)


def test_a_post_to_a_change_form_changes_nothing(admin_client):
    submission = compensated_submission()
    delivery, run, entry = submission.email_delivery, submission.saga_run, submission.timeline.first()
    outbox = OutboxEvent.objects.get(key=str(submission.id))
    posts = [
        ("intake_submission", submission.pk, {"name": "Changed", "email": "x@example.org", "message": "x"}),
        ("mailer_emaildelivery", delivery.pk, {"status": "SENT", "recipient": "x@example.org", "attempts": 0}),
        ("workflow_sagarun", run.pk, {"status": "COMPLETED", "reason": ""}),
        ("intake_timelineentry", entry.pk, {"event_type": "Forged", "data": "{}"}),
        ("outbox_outboxevent", outbox.pk, {"payload": "{}", "published_at": ""}),
    ]
    for page, pk, data in posts:
        assert _form_post(admin_client, page, pk, data).status_code == 403, page
    before = (submission.name, delivery.status, run.status, entry.event_type, outbox.payload)
    for row in (submission, delivery, run, entry, outbox):
        row.refresh_from_db()
    assert (submission.name, delivery.status, run.status, entry.event_type, outbox.payload) == before


def test_change_pages_show_the_fields_without_inputs(admin_client):
    submission = compensated_submission()
    page = admin_client.get(reverse("admin:intake_submission_change", args=[submission.pk])).content.decode()
    assert 'name="name"' not in page and 'name="correlation_id"' not in page
    assert submission.name in page and str(submission.correlation_id) in page


@pytest.mark.parametrize("page", [*PIPELINE_ROWS, "intake_submission"])
def test_nothing_is_added_by_hand(admin_client, page):
    assert admin_client.get(reverse(f"admin:{page}_add")).status_code == 403


@pytest.mark.parametrize("page", PIPELINE_ROWS)
def test_pipeline_rows_are_not_deleted_one_by_one(admin_client, page):
    submission = compensated_submission()
    rows = {
        "intake_timelineentry": submission.timeline.first(),
        "outbox_outboxevent": OutboxEvent.objects.filter(key=str(submission.id)).first(),
        "mailer_emaildelivery": submission.email_delivery,
        "workflow_sagarun": submission.saga_run,
        "workflow_lead": submission.lead,
    }
    assert admin_client.get(reverse(f"admin:{page}_delete", args=[rows[page].pk])).status_code == 403


def test_a_submission_is_deleted_whole(admin_client):
    submission = compensated_submission()
    response = admin_client.post(reverse("admin:intake_submission_delete", args=[submission.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Submission.objects.filter(pk=submission.pk).exists()
    for model in (TimelineEntry, EmailDelivery, SagaRun, Lead):
        assert not model.objects.filter(submission_id=submission.pk).exists()
