"""The mock CRM's URLs: served by its own process (config.settings.crm_server)."""

from django.http import JsonResponse
from django.urls import path

from crm.api import LeadDetailApi, LeadListCreateApi


def health(_request):
    return JsonResponse({"status": "ok", "service": "crm"})


urlpatterns = [
    path("crm/health", health),
    path("crm/api/leads/", LeadListCreateApi.as_view(), name="crm-leads"),
    path("crm/api/leads/<uuid:lead_id>/", LeadDetailApi.as_view(), name="crm-lead"),
]
