from django.contrib import admin

from outbox.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "event_type", "key", "created_at", "published_at", "attempts", "last_error")
    list_filter = ("event_type", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("id", "key")
    readonly_fields = [field.name for field in OutboxEvent._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False
