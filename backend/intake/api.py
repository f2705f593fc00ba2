"""The submissions API: accept a submission, show its progress (live progress: intake.stream)."""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.access import access_check, access_expires_at, bearer_token
from intake.models import Submission
from intake.selectors import submission_state
from intake.services import submission_create
from intake.throttling import SubmissionRateThrottle
from intake.validators import no_control_characters, no_control_characters_multiline


class SubmissionInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, validators=[no_control_characters])
    email = serializers.EmailField(max_length=254)
    company = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", validators=[no_control_characters]
    )
    message = serializers.CharField(max_length=5000, validators=[no_control_characters_multiline])
    website = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        trim_whitespace=False,
        help_text="Honeypot: hidden from people by the form, so it stays empty; a request that fills it is refused.",
    )
    demo_fail_at = serializers.ChoiceField(
        choices=Submission.FailAt.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Demo control: make this workflow step fail so that compensation runs.",
    )

    def validate_website(self, value: str) -> str:
        if value:
            raise serializers.ValidationError("Leave this field empty.")
        return value

    def validate_demo_fail_at(self, value: str) -> str:
        if value and not settings.DEMO_CONTROLS:
            raise serializers.ValidationError("Demo controls are disabled on this server.")
        return value


class SubmissionCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    status_url = serializers.URLField()
    access_token = serializers.CharField(
        help_text="Send it as `Authorization: Bearer <token>` to read this submission (the live stream also "
        "takes `?access_token=`). Shown once; only its digest is stored."
    )
    access_expires_at = serializers.DateTimeField(help_text="The token opens nothing after this.")


class TimelineItemSerializer(serializers.Serializer):
    event_id = serializers.UUIDField()
    type = serializers.CharField()
    version = serializers.IntegerField()
    time = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    data = serializers.DictField()


class EmailDeliverySerializer(serializers.Serializer):
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)


class SubmissionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="submission.id")
    correlation_id = serializers.UUIDField(source="submission.correlation_id")
    name = serializers.CharField(source="submission.name")
    email = serializers.EmailField(source="submission.email")
    company = serializers.CharField(source="submission.company")
    message = serializers.CharField(source="submission.message")
    demo_fail_at = serializers.CharField(source="submission.demo_fail_at")
    created_at = serializers.DateTimeField(source="submission.created_at")
    published_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    email_status = serializers.CharField()
    workflow_status = serializers.CharField()
    email_delivery = EmailDeliverySerializer(allow_null=True, help_text="Where the confirmation stands now.")
    timeline = TimelineItemSerializer(many=True)


class SubmissionListItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Submission
        fields = ["id", "name", "email", "company", "created_at"]


class SubmissionListCreateApi(APIView):
    """POST a contact-form submission; staff may GET the latest ones."""

    throttle_scope = "submissions"

    permission_classes = [AllowAny]

    def get_throttles(self):
        return [SubmissionRateThrottle()] if self.request.method == "POST" else []

    def get_serializer(self, *args, **kwargs):
        # The browsable API renders its HTML form from this.
        return SubmissionInputSerializer(*args, **kwargs)

    @extend_schema(responses=SubmissionListItemSerializer(many=True))
    def get(self, request):
        # Anyone may open this URL in a browser to use the form below; only staff see submissions.
        if not IsAdminUser().has_permission(request, self):
            return Response({"detail": "POST a submission here. Staff users who are logged in see the latest 50."})
        latest = Submission.objects.all()[:50]
        return Response(SubmissionListItemSerializer(latest, many=True).data)

    @extend_schema(request=SubmissionInputSerializer, responses={201: SubmissionCreatedSerializer})
    def post(self, request):
        serializer = SubmissionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = {key: value for key, value in serializer.validated_data.items() if key != "website"}
        submission = submission_create(**fields)
        status_url = request.build_absolute_uri(reverse("submission-detail", args=[submission.id]))
        created = {
            "id": submission.id,
            "status": "RECEIVED",
            "status_url": status_url,
            "access_token": submission.access_token,
            "access_expires_at": access_expires_at(submission),
        }
        body = SubmissionCreatedSerializer(created).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": status_url})


class SubmissionDetailApi(APIView):
    """A submission's status and its timeline: every event about it, in order, with timestamps.

    Needs the access token of the submit response (`Authorization: Bearer <token>`) until it expires;
    staff who are logged in read every submission."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: SubmissionOutputSerializer},
        parameters=[
            OpenApiParameter("Authorization", str, OpenApiParameter.HEADER, description="Bearer <access_token>")
        ],
    )
    def get(self, request, submission_id):
        submission = get_object_or_404(Submission, id=submission_id)
        if not (request.user and request.user.is_staff):
            denied = access_check(submission=submission, token=bearer_token(request.headers))
            if denied:
                headers = {"WWW-Authenticate": 'Bearer realm="submission"'} if denied.status == 401 else None
                return Response({"detail": denied.detail}, status=denied.status, headers=headers)
        response = Response(SubmissionOutputSerializer(submission_state(submission=submission)).data)
        response["Cache-Control"] = "private, no-store"  # personal data: no shared cache keeps it
        return response
