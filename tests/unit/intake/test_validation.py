import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from intake.models import Submission
from outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db

VALID = {"name": "Ada Lovelace", "email": "ada@example.org", "company": "", "message": "Hello\nthere\tfriend"}


def post(**changes):
    return APIClient().post("/api/submissions/", {**VALID, **changes}, format="json")


def test_valid_submission_is_accepted_with_a_status_url():
    response = post()
    assert response.status_code == 201
    body = response.json()
    assert body["status_url"].endswith(f"/api/submissions/{body['id']}/")
    assert response["Location"] == body["status_url"]
    assert Submission.objects.filter(id=body["id"]).exists()


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("name", "", "may not be blank"),
        ("name", "   ", "may not be blank"),
        ("name", "x" * 101, "no more than 100"),
        ("name", "Ada\nLovelace", "control characters"),
        ("name", "Ada\u200bLovelace", "control characters"),
        ("email", "not-an-address", "valid email"),
        ("email", "a@b", "valid email"),
        ("email", "ada@example.org\r\nBcc: x@y.z", "valid email"),
        ("email", "a" * 250 + "@example.org", "no more than 254"),
        ("company", "x" * 101, "no more than 100"),
        ("company", "ACME\x00", "control characters"),
        ("message", "", "may not be blank"),
        ("message", "x" * 5001, "no more than 5000"),
        ("message", "ring the bell \x07", "control characters"),
        ("demo_fail_at", "somewhere", "not a valid choice"),
    ],
)
def test_invalid_field_gets_a_message_of_its_own(field, value, fragment):
    response = post(**{field: value})
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert fragment in response.json()[field][0]
    assert not OutboxEvent.objects.exists()


def test_missing_required_fields_are_each_named():
    response = APIClient().post("/api/submissions/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "email", "message"}


def test_company_is_optional_and_whitespace_is_trimmed():
    response = APIClient().post(
        "/api/submissions/", {"name": "  Ada  ", "email": "ada@example.org", "message": " Hi "}, format="json"
    )
    assert response.status_code == 201
    submission = Submission.objects.get(id=response.json()["id"])
    assert (submission.name, submission.company, submission.message) == ("Ada", "", "Hi")


@override_settings(DEMO_CONTROLS=False)
def test_demo_failure_is_refused_when_demo_controls_are_off():
    response = post(demo_fail_at="create_crm_lead")
    assert response.status_code == 400
    assert "disabled" in response.json()["demo_fail_at"][0]


def test_browsable_api_renders_the_form_for_anonymous_visitors():
    response = APIClient().get("/api/submissions/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b'name="message"' in response.content
