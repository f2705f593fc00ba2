"""Admin building blocks shared by the apps: the pipeline writes these rows, people only read them."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.utils import timezone


class PipelineOwned(admin.ModelAdmin):
    """A model the pipeline alone writes: listed and shown, never added, edited or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page as they are: no form fields, no add, no delete."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def admin_login_records_purge(*, older_than, dry_run: bool = False) -> int:
    """Forget who tried to sign in to the admin (django-axes keeps an address, a username and a
    browser per attempt, for ever by default): log rows older than `older_than`, and failed attempts
    whose lockout is over. Return how many rows were (or would be) deleted."""
    lockout_over = timezone.now() - settings.AXES_COOLOFF_TIME
    old = [
        AccessLog.objects.filter(attempt_time__lt=older_than),
        AccessFailureLog.objects.filter(attempt_time__lt=older_than),
        AccessAttempt.objects.filter(attempt_time__lt=lockout_over),
    ]
    if dry_run:
        return sum(queryset.count() for queryset in old)
    return sum(queryset.delete()[0] for queryset in old)
