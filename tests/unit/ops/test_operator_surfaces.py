"""What operators use: the admin pages, the OpenAPI schema and docs, the health endpoint."""

import pytest
from django.urls import reverse

from intake.services import submission_create

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "intake_submission",
    "intake_timelineentry",
    "outbox_outboxevent",
    "mailer_emaildelivery",
    "workflow_sagarun",
    "workflow_lead",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_lists_each_part_of_the_pipeline(admin_client, page):
    submission_create(name="Ada", email="ada@example.org", message="Hi")
    response = admin_client.get(reverse(f"admin:{page}_changelist"))
    assert response.status_code == 200


def test_admin_submission_page_shows_its_status_and_timeline(admin_client):
    submission = submission_create(name="Ada", email="ada@example.org", message="Hi")
    response = admin_client.get(reverse("admin:intake_submission_change", args=[submission.id]))
    assert response.status_code == 200
    assert b"RECEIVED" in response.content and b"Timeline entries" in response.content


def test_openapi_schema_describes_the_submission_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "post" in paths["/api/submissions/"]
    assert "get" in paths["/api/submissions/{submission_id}/"]
    create = paths["/api/submissions/"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert create.endswith("/SubmissionInput")


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in response.content


def test_health_answers_when_the_database_does(client):
    response = client.get("/health", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
