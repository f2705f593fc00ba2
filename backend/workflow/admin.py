from django.contrib import admin, messages

from workflow.models import Lead, SagaRun, SagaStep
from workflow.services import saga_retry_compensation


class SagaStepInline(admin.TabularInline):
    model = SagaStep
    fields = ("name", "status", "result", "undo_error", "done_at", "compensated_at")
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
    actions = ["retry_compensation"]

    @admin.action(description="Retry the failed compensation of the selected runs")
    def retry_compensation(self, request, queryset):
        """COMPENSATION_FAILED → COMPENSATING: the undos that failed run again, then the run ends."""
        results = [saga_retry_compensation(submission_id=str(run.submission_id)) for run in queryset]
        retried = sum(1 for result in results if result["retried"])
        self.message_user(request, f"{retried} of {len(results)} run(s) are compensating again.", messages.SUCCESS)


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("submission", "owner", "tags", "crm_lead_id")
    search_fields = ("submission__id", "owner", "crm_lead_id")
