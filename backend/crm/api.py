"""The mock CRM's HTTP API: create (idempotent), list, read and delete leads, for holders of its token."""

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.auth import crm_token_valid
from crm.faults import inject_faults
from crm.models import CrmLead
from infra.sqlite import forget_deleted_pages


class HasCrmToken(BasePermission):
    """Only callers with CRM_API_TOKEN (the workflow) may read, create or delete leads."""

    message = "This CRM API needs its token: Authorization: Bearer <CRM_API_TOKEN>."

    def has_permission(self, request, view) -> bool:
        return crm_token_valid(request)


class CrmLeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = CrmLead
        fields = ["id", "external_id", "name", "email", "company", "owner", "tags", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"external_id": {"validators": []}}


@method_decorator(inject_faults, name="dispatch")
class LeadListCreateApi(APIView):
    """POST creates a lead, once per external id (or Idempotency-Key); GET lists them."""

    authentication_classes: list = []
    permission_classes = [HasCrmToken]

    def get(self, request):
        leads = CrmLead.objects.all()
        if "external_id" in request.query_params:
            leads = leads.filter(external_id=request.query_params["external_id"])
        if "email" in request.query_params:  # a person's leads, for erasure
            leads = leads.filter(email__iexact=request.query_params["email"])
        return Response({"results": CrmLeadSerializer(leads[:500], many=True).data})

    def post(self, request):
        serializer = CrmLeadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        external_id = request.headers.get("Idempotency-Key") or serializer.validated_data["external_id"]
        existing = CrmLead.objects.filter(external_id=external_id).first()
        if existing is not None:
            return Response(CrmLeadSerializer(existing).data, status=status.HTTP_200_OK)
        try:
            with transaction.atomic():
                lead = serializer.save(external_id=external_id)
        except IntegrityError:  # created by a concurrent request with the same key
            return Response(CrmLeadSerializer(CrmLead.objects.get(external_id=external_id)).data)
        return Response(CrmLeadSerializer(lead).data, status=status.HTTP_201_CREATED)


@method_decorator(inject_faults, name="dispatch")
class LeadDetailApi(APIView):
    authentication_classes: list = []
    permission_classes = [HasCrmToken]

    def get(self, request, lead_id):
        return Response(CrmLeadSerializer(get_object_or_404(CrmLead, id=lead_id)).data)

    def delete(self, request, lead_id):
        get_object_or_404(CrmLead, id=lead_id).delete()
        forget_deleted_pages()
        return Response(status=status.HTTP_204_NO_CONTENT)
