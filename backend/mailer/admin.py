from django.contrib import admin, messages

from infra.admin_base import PipelineOwned
from mailer.models import EmailDelivery
from mailer.services import mail_retry_failed


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(PipelineOwned):
    """Confirmation emails: read-only (the mailer's claims, attempts and statuses are its own); a failed
    one is sent again with the action below, never by editing its row."""

    list_display = ("submission", "recipient", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("recipient", "submission__id", "submission__correlation_id")
    actions = ["retry_failed"]

    def has_retry_permission(self, request) -> bool:
        # No one edits a row here; sending again is for those whom Django lets change email deliveries.
        return request.user.has_perm("mailer.change_emaildelivery")

    @admin.action(description="Send the selected failed emails again", permissions=["retry"])
    def retry_failed(self, request, queryset):
        """FAILED → RETRYING, due now, with a new retry horizon; the reconciler's next pass sends them."""
        ids = mail_retry_failed(submission_ids=[str(pk) for pk in queryset.values_list("submission_id", flat=True)])
        skipped = queryset.count() - len(ids)
        note = f" ({skipped} not FAILED, left as they are)" if skipped else ""
        self.message_user(request, f"{len(ids)} email(s) queued to be sent again{note}.", messages.SUCCESS)
