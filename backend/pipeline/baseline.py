"""The synchronous baseline, for `./deploy.sh bench` only (BENCH_BASELINE=true): the proof of
concept's shape, where the request itself sends the email and creates the CRM lead.

It exists to measure what the asynchronous path buys: the same validation and the same insert, then
SMTP and the CRM (answering after BENCH_BASELINE_CRM_LATENCY_MS) inside the request. No outbox, no
events, no retries: a failure is a 502, and the submission is stored either way.
"""

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.models import Submission
from mailer.message import confirmation_build
from pipeline.api import SubmissionInputSerializer
from workflow.crm_client import crm_lead_create
from workflow.rules import lead_owner_for, lead_tags_for


@extend_schema(exclude=True)  # the benchmark's comparison, off everywhere else: not part of the API
class SubmissionBaselineApi(APIView):
    """POST a submission and wait for its email and its CRM lead (benchmark baseline; off by default)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def post(self, request):
        if not settings.BENCH_BASELINE:
            raise Http404
        serializer = SubmissionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = Submission.objects.create(**serializer.validated_data)
        try:
            confirmation_build(submission=submission).send(to=[submission.email])
            lead_id = crm_lead_create(
                payload={
                    "external_id": str(submission.id),
                    "name": submission.name,
                    "email": submission.email,
                    "company": submission.company,
                    "tags": lead_tags_for(submission),
                    "owner": lead_owner_for(submission.email, settings.LEAD_OWNERS),
                },
                idempotency_key=str(submission.id),
                latency_ms=settings.BENCH_BASELINE_CRM_LATENCY_MS,
            )
        except Exception as exc:  # the baseline has no recovery: say what failed
            return Response({"detail": f"{type(exc).__name__}: {exc}"}, status=status.HTTP_502_BAD_GATEWAY)
        return Response({"id": str(submission.id), "crm_lead_id": lead_id}, status=status.HTTP_201_CREATED)
