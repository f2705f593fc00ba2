"""The Submission admin with the erasure action: registered here, on top, so that intake's admin
needs nothing from the stages."""

from django.contrib import admin, messages

from intake.models import Submission
from pipeline.erasure import person_erase
from pipeline.submission_admin import SubmissionAdmin
from workflow.crm_client import CrmError, CrmTransientError


class SubmissionErasureAdmin(SubmissionAdmin):
    actions = ["erase_people"]

    def has_erase_permission(self, request) -> bool:
        return request.user.has_perm("intake.delete_submission")

    @admin.action(
        description="Erase the selected people everywhere (all their submissions, the CRM's leads)",
        permissions=["erase"],
    )
    def erase_people(self, request, queryset):
        addresses = sorted(set(queryset.values_list("email", flat=True)), key=str.lower)
        erased = leads = 0
        for address in addresses:
            try:
                erasure = person_erase(email=address)
            except (CrmError, CrmTransientError) as exc:
                self.message_user(
                    request, f"Stopped: the CRM could not erase its copy ({exc}). Try again.", messages.ERROR
                )
                break
            erased, leads = erased + len(erasure.submissions), leads + erasure.crm_leads
        self.message_user(
            request,
            f"Erased {len(addresses)} person(s): {erased} submission(s), {leads} CRM lead(s).",
            messages.SUCCESS,
        )


admin.site.unregister(Submission)
admin.site.register(Submission, SubmissionErasureAdmin)
