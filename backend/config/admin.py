"""Admin building blocks shared by the apps: the pipeline writes these rows, people only read them."""

from django.contrib import admin


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
