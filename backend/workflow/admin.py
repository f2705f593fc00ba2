from django.contrib import admin, messages

from infra.admin_base import PipelineOwned, ReadOnlyInline
from workflow.models import Lead, SagaRun, SagaStep
from workflow.recovery import saga_retry_compensation


class SagaStepInline(ReadOnlyInline):
    """Each forward step that finished, in the order it ran, with what it did."""

    model = SagaStep
    fields = ("name", "status", "result", "done_at")
    ordering = ("done_at", "id")
    verbose_name_plural = "steps"


class CompensationInline(SagaStepInline):
    """The undos, in the reverse order they run: undone, or failed with the error to fix."""

    fields = ("name", "status", "compensated_at", "undo_error")
    ordering = ("-done_at", "-id")
    verbose_name_plural = "compensations"

    def get_queryset(self, request):
        undone = (SagaStep.Status.COMPENSATED, SagaStep.Status.UNDO_FAILED)
        return super().get_queryset(request).filter(status__in=undone)


@admin.register(SagaRun)
class SagaRunAdmin(PipelineOwned):
    list_display = ("submission", "status", "failed_step", "started_at", "finished_at")
    list_filter = ("status", "failed_step")
    search_fields = ("submission__id", "submission__correlation_id", "submission__email")
    inlines = [SagaStepInline, CompensationInline]
    actions = ["retry_compensation"]

    def has_retry_permission(self, request) -> bool:
        # No one edits a run here; retrying is for those whom Django lets change saga runs.
        return request.user.has_perm("workflow.change_sagarun")

    @admin.action(description="Retry the failed compensation of the selected runs", permissions=["retry"])
    def retry_compensation(self, request, queryset):
        """COMPENSATION_FAILED → COMPENSATING: the undos that failed run again, then the run ends."""
        results = [saga_retry_compensation(submission_id=str(run.submission_id)) for run in queryset]
        retried = sum(1 for result in results if result["retried"])
        self.message_user(request, f"{retried} of {len(results)} run(s) are compensating again.", messages.SUCCESS)


@admin.register(Lead)
class LeadAdmin(PipelineOwned):
    list_display = ("submission", "owner", "tags", "crm_lead_id")
    search_fields = ("submission__id", "owner", "crm_lead_id")
