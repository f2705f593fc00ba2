"""The submissions API: accept a submission, show its progress (live progress: pipeline.stream)."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, Throttled, UnsupportedMediaType, ValidationError
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from common.logs import correlation_id_set
from infra.metrics import SUBMISSIONS
from intake.access import access_check, access_expires_at, bearer_token
from intake.models import Submission
from intake.services import submission_create
from intake.throttling import SubmissionRateThrottle
from intake.validators import no_control_characters, no_control_characters_multiline
from pipeline.selectors import submission_state

# A required text is trimmed, then refused when nothing is left ("This field may not be blank.", before
# any validator runs). JSON Schema cannot say "not only whitespace" except with a pattern, and
# drf-spectacular writes a RegexValidator's regex as the field's `pattern`: this one states the rule.
NOT_BLANK = RegexValidator(r"\S", message="This field may not be blank.")
TEXT_RULES = "Trimmed; must keep a character that is not whitespace. No control characters, no bidi overrides."


# The honeypot: a field the form hides from people, so only a robot fills it. It is read from the
# raw body and named nowhere in the schema, so a robot that reads the schema finds no trap to avoid.
HONEYPOT = "website"


class SubmissionInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        min_length=1, max_length=100, validators=[NOT_BLANK, no_control_characters], help_text=TEXT_RULES
    )
    email = serializers.EmailField(max_length=254)
    company = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        validators=[no_control_characters],
        help_text="Trimmed; may be empty. No control characters, no bidi overrides.",
    )
    message = serializers.CharField(
        min_length=1,
        max_length=5000,
        validators=[NOT_BLANK, no_control_characters_multiline],
        help_text=f"{TEXT_RULES} Line breaks and tabs are fine.",
    )
    demo_fail_at = serializers.ChoiceField(
        choices=Submission.DEMO_FAIL_CHOICES,
        required=False,
        allow_blank=True,
        default="",
        help_text="Demo control: make this workflow step fail so that compensation runs. Refused (400) unless "
        "the server runs with DEMO_CONTROLS.",
    )

    def to_internal_value(self, data):
        if hasattr(data, "get") and data.get(HONEYPOT) not in (None, ""):
            raise serializers.ValidationError({HONEYPOT: ["Leave this field empty."]})
        return super().to_internal_value(data)

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


def public_owner(owner: object) -> object:
    """A lead owner as a visitor sees it: the person's name part, not their internal mailbox."""
    return owner.partition("@")[0] if isinstance(owner, str) else owner


PUBLIC_MAIL_ERRORS = {
    "RETRYING": "The mail server has not taken it yet; it is tried again.",
    "FAILED": "It could not be sent.",
}


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

    def to_representation(self, instance):
        """What the token's holder (a visitor) sees: no internal mailbox of a lead owner, and no mail
        error's wording (which names servers, or says a mailbox reached its limit); operators see
        both in the admin."""
        data = super().to_representation(instance)
        for item in data["timeline"]:
            if "owner" in item["data"]:
                item["data"] = {**item["data"], "owner": public_owner(item["data"]["owner"])}
        delivery = data["email_delivery"]
        if delivery and delivery["last_error"]:
            delivery["last_error"] = PUBLIC_MAIL_ERRORS.get(delivery["status"], "")
        return data


class SubmissionListItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Submission
        fields = ["id", "name", "email", "company", "created_at"]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why the request was refused, in words for people.")


def _messages() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), required=False)


class SubmissionInvalidSerializer(serializers.Serializer):
    """A 400: the messages of each field that was refused."""

    name = _messages()
    email = _messages()
    company = _messages()
    message = _messages()
    demo_fail_at = _messages()
    non_field_errors = _messages()  # a body that is not an object
    detail = serializers.CharField(required=False, help_text="A body that could not be parsed.")


WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    str,
    OpenApiParameter.HEADER,
    response=[401],
    required=True,
    description='Bearer realm="submission"',
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After", int, OpenApiParameter.HEADER, response=[429], required=True, description="Seconds to wait."
)


class StaffOrTheFormPage(BasePermission):
    """Staff; or a browser asking for the browsable API's page, whose form to POST is for everyone."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff) or request.accepted_renderer.format == "api"


def rejection_reason(exc: Exception) -> str | None:
    """How a refused submission is counted: throttled, honeypot (the hidden field filled in), validation."""
    if isinstance(exc, Throttled):
        return "throttled"
    if isinstance(exc, ValidationError):
        return "honeypot" if isinstance(exc.detail, dict) and HONEYPOT in exc.detail else "validation"
    if isinstance(exc, (ParseError, UnsupportedMediaType)):
        return "validation"
    return None


class SubmissionListCreateApi(APIView):
    """POST a contact-form submission; staff may GET the latest ones."""

    throttle_scope = "submissions"

    def get_permissions(self):
        # The browsable API asks again with the method of each form it renders (POST: anyone).
        return [StaffOrTheFormPage()] if self.request.method in ("GET", "HEAD") else [AllowAny()]

    def get_throttles(self):
        return [SubmissionRateThrottle()] if self.request.method == "POST" else []

    def get_serializer(self, *args, **kwargs):
        # The browsable API renders its HTML form from this.
        return SubmissionInputSerializer(*args, **kwargs)

    def handle_exception(self, exc):
        reason = rejection_reason(exc) if self.request.method == "POST" else None
        if reason:
            SUBMISSIONS.labels("rejected", reason).inc()
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="submissions_list",
        summary="The latest 50 submissions (staff)",
        description="For staff who are logged in to the admin (session cookie); anyone else gets 403. A browser "
        "that asks for text/html gets the browsable API's page instead, with the form to POST a submission.",
        auth=[{"cookieAuth": []}],
        responses={
            200: OpenApiResponse(SubmissionListItemSerializer(many=True), description="The latest 50, newest first."),
            403: OpenApiResponse(ErrorSerializer, description="Not logged in as staff."),
        },
    )
    def get(self, request):
        if not request.user.is_staff:  # only the browsable API's page gets here (StaffOrTheFormPage)
            return Response(
                {"detail": "POST a submission with the form below. Staff who are logged in see the latest 50."}
            )
        latest = Submission.objects.all()[:50]
        return Response(SubmissionListItemSerializer(latest, many=True).data)

    @extend_schema(
        summary="Submit the contact form",
        description="Stores the submission with its event in one transaction and answers at once; the pipeline "
        "does the rest. The answer's `access_token` opens its details and live stream.",
        request=SubmissionInputSerializer,
        responses={
            201: OpenApiResponse(
                SubmissionCreatedSerializer,
                description="Accepted: stored with its event, on its way through the pipeline.",
            ),
            400: OpenApiResponse(SubmissionInvalidSerializer, description="Refused: a message for each field."),
            413: OpenApiResponse(ErrorSerializer, description="The body is larger than MAX_REQUEST_BODY_BYTES."),
            415: OpenApiResponse(ErrorSerializer, description="A body in another media type than those listed."),
            429: OpenApiResponse(
                ErrorSerializer, description="More than SUBMISSION_RATE_LIMIT from this client address."
            ),
        },
        parameters=[
            OpenApiParameter(
                "Location", str, OpenApiParameter.HEADER, response=[201], required=True, description="The status_url."
            ),
            RETRY_AFTER,
        ],
    )
    def post(self, request):
        serializer = SubmissionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = submission_create(**serializer.validated_data)
        SUBMISSIONS.labels("accepted", "").inc()
        correlation_id_set(submission.correlation_id)  # for this request's access-log line
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
        summary="One submission's progress",
        # The token is checked by the view (intake.access), not by an authentication class: the scheme
        # is declared in SPECTACULAR_SETTINGS.
        auth=[{"submissionToken": []}, {"cookieAuth": []}],
        responses={
            200: OpenApiResponse(SubmissionOutputSerializer, description="Its status and timeline, now."),
            401: OpenApiResponse(ErrorSerializer, description="No access token (and not logged in as staff)."),
            403: OpenApiResponse(ErrorSerializer, description="An access token that does not open it, or expired."),
            404: OpenApiResponse(ErrorSerializer, description="No submission has this id."),
        },
        parameters=[WWW_AUTHENTICATE],
    )
    def get(self, request, submission_id):
        submission = get_object_or_404(Submission, id=submission_id)
        correlation_id_set(submission.correlation_id)
        if not (request.user and request.user.is_staff):
            denied = access_check(submission=submission, token=bearer_token(request.headers))
            if denied:
                headers = {"WWW-Authenticate": 'Bearer realm="submission"'} if denied.status == 401 else None
                return Response({"detail": denied.detail}, status=denied.status, headers=headers)
        response = Response(SubmissionOutputSerializer(submission_state(submission=submission)).data)
        response["Cache-Control"] = "private, no-store"  # personal data: no shared cache keeps it
        return response
