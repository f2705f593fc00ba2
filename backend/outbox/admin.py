from django.contrib import admin

from infra.admin_base import PipelineOwned
from outbox.models import OutboxEvent


class PublishedFilter(admin.SimpleListFilter):
    """Whether Kafka has confirmed the row (unpublished rows are the relay's work still to do)."""

    title = "published"
    parameter_name = "published"

    def lookups(self, request, model_admin):
        return [("yes", "published"), ("no", "unpublished")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(published_at__isnull=self.value() == "no")
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(PipelineOwned):
    """The events on their way to Kafka, as the relay sees them: read-only (the relay alone writes them;
    a row edited or deleted here would be an event changed or lost), pruned by `manage.py prune_outbox`."""

    list_display = ("id", "event_type", "key", "created_at", "published_at", "attempts", "last_error")
    list_filter = (PublishedFilter, "event_type")
    search_fields = ("id", "key", "event_type")
    search_help_text = "Key (the submission id), event type or event id."
    date_hierarchy = "created_at"
