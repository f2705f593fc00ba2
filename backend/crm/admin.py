from django.contrib import admin

from crm.models import CrmLead
from infra.admin_base import PipelineOwned


@admin.register(CrmLead)
class CrmLeadAdmin(PipelineOwned):
    """The mock CRM's leads (in the CRM's own database where it runs as its own server): read-only, as
    another company's system would be; the workflow creates and removes them through the CRM's API."""

    list_display = ("name", "email", "company", "owner", "created_at")
    search_fields = ("name", "email", "external_id")
