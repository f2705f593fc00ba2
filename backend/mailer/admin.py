from django.contrib import admin, messages

from mailer.models import EmailDelivery
from mailer.services import mail_retry_failed


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    list_display = ("submission", "recipient", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("recipient", "submission__id")
    readonly_fields = [field.name for field in EmailDelivery._meta.fields]
    actions = ["retry_failed"]

    @admin.action(description="Send the selected failed emails again")
    def retry_failed(self, request, queryset):
        """FAILED → PENDING with a new retry horizon; the reconciler's next pass sends them."""
        ids = mail_retry_failed(submission_ids=[str(pk) for pk in queryset.values_list("submission_id", flat=True)])
        self.message_user(request, f"{len(ids)} email(s) queued to be sent again.", messages.SUCCESS)
