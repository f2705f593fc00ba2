from django.contrib import admin

from workflow.models import Lead, SagaRun, SagaStep


class SagaStepInline(admin.TabularInline):
    model = SagaStep
    fields = ("name", "status", "result", "done_at", "compensated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SagaRun)
class SagaRunAdmin(admin.ModelAdmin):
    list_display = ("submission", "status", "failed_step", "started_at", "finished_at")
    list_filter = ("status", "failed_step")
    search_fields = ("submission__id", "submission__email")
    readonly_fields = ("submission", "status", "failed_step", "reason", "causation_id", "started_at", "finished_at")
    inlines = [SagaStepInline]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("submission", "owner", "tags", "crm_lead_id")
    search_fields = ("submission__id", "owner", "crm_lead_id")
