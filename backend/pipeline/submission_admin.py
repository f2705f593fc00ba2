"""What operators see of submissions: search, filters, and everything that happened to each one.

The pipeline writes every row shown here; an operator reads them. Nothing is added or changed by hand
(ids, events, payloads, statuses and times are what the pipeline recorded); a submission can only be
deleted whole, and its timeline, email, saga run and lead go with it.
"""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.html import format_html

from events import (
    ContactFormSubmitted,
    EmailDispatched,
    EmailFailed,
    WorkflowCompensated,
    WorkflowCompensationFailed,
    WorkflowCompleted,
)
from infra.admin_base import PipelineOwned, ReadOnlyInline
from intake.models import Submission, TimelineEntry
from mailer.models import EmailDelivery
from outbox.models import OutboxEvent
from pipeline.selectors import Status, submission_state
from workflow.models import SagaRun

STATUSES = (
    Status.RECEIVED,
    Status.PUBLISHED,
    Status.PROCESSING,
    Status.COMPLETED,
    Status.COMPENSATED,
    Status.COMPENSATION_FAILED,
    Status.FAILED,
)


def _has(*types: str, **conditions) -> Exists:
    return Exists(TimelineEntry.objects.filter(submission=OuterRef("pk"), event_type__in=types, **conditions))


def _status_conditions() -> dict[str, Q]:
    """pipeline.selectors.status_from as conditions on the timeline (tests/unit/ops/test_admin.py compares them).

    RECEIVED and PUBLISHED share one condition here ("started"): the outbox tells them apart."""
    sent, failed = Q(_has(EmailDispatched.TYPE)), Q(_has(EmailFailed.TYPE))
    completed = Q(_has(WorkflowCompleted.TYPE))
    compensated = Q(_has(WorkflowCompensated.TYPE)) & ~completed
    compensation_failed = Q(_has(WorkflowCompensationFailed.TYPE)) & ~completed & ~compensated
    final = (sent | failed) & (completed | compensated | compensation_failed)
    handed_off = Q(_has(ContactFormSubmitted.TYPE, delivered_at__isnull=False))
    moved_on = Q(
        Exists(TimelineEntry.objects.filter(submission=OuterRef("pk")).exclude(event_type=ContactFormSubmitted.TYPE))
    )
    return {
        Status.COMPENSATION_FAILED: (sent | failed) & compensation_failed,
        Status.FAILED: failed & ~sent & (completed | compensated),
        Status.COMPLETED: sent & completed,
        Status.COMPENSATED: sent & compensated,
        Status.PROCESSING: ~final & (handed_off | moved_on),
        "started": ~final & ~handed_off & ~moved_on,
    }


class StatusFilter(admin.SimpleListFilter):
    """The status of the list's column (the API's), derived from the timeline as the API derives it."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status, status) for status in STATUSES]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value not in STATUSES:
            return queryset
        if value not in (Status.RECEIVED, Status.PUBLISHED):
            return queryset.filter(_status_conditions()[value])
        # Few submissions wait for Kafka or the bridge: their first event's outbox row says which.
        started = [str(pk) for pk in queryset.filter(_status_conditions()["started"]).values_list("pk", flat=True)]
        published = OutboxEvent.objects.filter(
            key__in=started, event_type=ContactFormSubmitted.TYPE, published_at__isnull=False
        ).values_list("key", flat=True)
        keys = set(published) if value == Status.PUBLISHED else set(started) - set(published)
        return queryset.filter(pk__in=keys)


class TimelineEntryInline(ReadOnlyInline):
    model = TimelineEntry
    fields = ("occurred_at", "event_type", "event_id", "delivered_at", "data")
    ordering = ("occurred_at", "id")


class EmailDeliveryInline(ReadOnlyInline):
    model = EmailDelivery
    fields = ("status", "recipient", "attempts", "next_attempt_at", "sent_at", "last_error")
    verbose_name_plural = "confirmation email"


class SagaRunInline(ReadOnlyInline):
    model = SagaRun
    fields = ("run", "status", "failed_step", "reason", "started_at", "finished_at")
    verbose_name_plural = "saga run (its steps and compensations are on its own page)"

    @admin.display(description="run")
    def run(self, obj: SagaRun) -> str:
        return format_html(
            '<a href="{}">steps and compensations</a>', reverse("admin:workflow_sagarun_change", args=[obj.pk])
        )


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "name", "email", "company", "status")
    list_filter = (StatusFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("id", "correlation_id", "email", "name", "company")
    search_help_text = "Email, name, company, submission id or correlation id (a part of one will do)."
    date_hierarchy = "created_at"
    fields = ("id", "correlation_id", "created_at", "status", "name", "email", "company", "message", "demo_fail_at")
    readonly_fields = fields
    inlines = [TimelineEntryInline, EmailDeliveryInline, SagaRunInline]

    @admin.display(description="status")
    def status(self, obj: Submission) -> str:
        return submission_state(submission=obj).status

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_deleted_objects(self, objs, request):
        # Its timeline, email, saga run and lead go with a submission: their admins refuse deleting them
        # one by one, which must not stop the submission's own deletion.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed & {Submission._meta.verbose_name}, protected


@admin.register(TimelineEntry)
class TimelineEntryAdmin(PipelineOwned):
    list_display = ("occurred_at", "event_type", "submission", "delivered_at")
    list_filter = ("event_type",)
    search_fields = ("event_id", "submission__id", "submission__correlation_id")
