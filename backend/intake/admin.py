from django.contrib import admin

from intake.models import Submission, TimelineEntry
from intake.selectors import submission_state


class TimelineEntryInline(admin.TabularInline):
    model = TimelineEntry
    fields = ("occurred_at", "event_type", "delivered_at", "data")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("occurred_at", "id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "name", "email", "company", "status")
    search_fields = ("id", "name", "email", "company")
    readonly_fields = ("id", "correlation_id", "created_at", "status")
    date_hierarchy = "created_at"
    inlines = [TimelineEntryInline]

    @admin.display(description="status")
    def status(self, obj: Submission) -> str:
        return submission_state(submission=obj).status


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "event_type", "submission", "delivered_at")
    list_filter = ("event_type",)
    search_fields = ("event_id", "submission__id")
    readonly_fields = [field.name for field in TimelineEntry._meta.fields]
