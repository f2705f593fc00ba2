from django.contrib import admin

from crm.models import CrmLead


@admin.register(CrmLead)
class CrmLeadAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "company", "owner", "created_at")
    search_fields = ("name", "email", "external_id")
