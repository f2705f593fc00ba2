"""The OpenAPI schema lists every answer the API gives, and the answers match it
(tests/integration/test_schemathesis.py asks the running API the same with generated requests)."""

import json
import re

import jsonschema
import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from intake.services import submission_create
from intake.throttling import SubmissionRateThrottle
from pipeline.api import SubmissionInputSerializer, SubmissionInvalidSerializer

pytestmark = pytest.mark.django_db

LIST = "/api/submissions/"
DETAIL = "/api/submissions/{submission_id}/"
EVENTS = "/api/submissions/{submission_id}/events"
VALID = {"name": "Ada", "email": "ada@example.org", "message": "Hello"}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _nullable_to_json_schema(node):
    """OpenAPI 3.0's `nullable` in JSON Schema's words, so that jsonschema can check a body."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def assert_matches(schema: dict, method: str, path: str, response) -> None:
    """The answer's status is listed for the operation, with this content type, headers and body."""
    listed = schema["paths"][path][method]["responses"]
    assert str(response.status_code) in listed, f"{response.status_code} is not listed for {method} {path}"
    documented = listed[str(response.status_code)]
    content_type = response["Content-Type"].split(";")[0]
    assert content_type in documented["content"]
    for header, spec in documented.get("headers", {}).items():
        assert not spec.get("required") or response.has_header(header), f"{header} is missing"
    root = {"components": _nullable_to_json_schema(schema["components"])}
    body_schema = _nullable_to_json_schema(documented["content"][content_type]["schema"])
    jsonschema.validate(response.json(), {**root, **body_schema})


def test_the_schema_is_valid_openapi_generated_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_every_reference_and_security_scheme_is_defined(schema):
    text = str(schema)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in schema["components"]["schemas"]
    schemes = schema["components"]["securitySchemes"]
    for item in schema["paths"].values():
        for operation in item.values():
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes)


@pytest.mark.parametrize(
    "method, path, codes",
    [
        ("post", LIST, {"201", "400", "413", "415", "429"}),
        ("get", LIST, {"200", "403"}),
        ("get", DETAIL, {"200", "401", "403", "404"}),
        ("get", EVENTS, {"200", "401", "403", "404", "429", "503"}),
    ],
)
def test_each_operation_lists_the_answers_it_gives(schema, method, path, codes):
    assert set(schema["paths"][path][method]["responses"]) == codes


def test_the_answers_headers_are_listed(schema):
    post, detail = schema["paths"][LIST]["post"]["responses"], schema["paths"][DETAIL]["get"]["responses"]
    assert post["201"]["headers"]["Location"]["required"]
    assert post["429"]["headers"]["Retry-After"]["required"]
    assert detail["401"]["headers"]["WWW-Authenticate"]["required"]


def test_the_detail_needs_the_submissions_bearer_token_or_a_staff_login(schema):
    assert schema["paths"][DETAIL]["get"]["security"] == [{"submissionToken": []}, {"cookieAuth": []}]
    assert schema["components"]["securitySchemes"]["submissionToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["submissionToken"]["description"],
    }
    parameters = schema["paths"][DETAIL]["get"].get("parameters", [])
    assert "Authorization" not in {parameter["name"] for parameter in parameters}  # the scheme says it


def test_the_list_is_for_staff_and_submitting_for_anyone(schema):
    assert schema["paths"][LIST]["get"]["security"] == [{"cookieAuth": []}]
    assert {} in schema["paths"][LIST]["post"]["security"]


def test_the_live_stream_is_documented_on_its_own_server_and_not_served_here(schema, client):
    operation = schema["paths"][EVENTS]["get"]
    assert [server["url"] for server in operation["servers"]] == ["http://localhost:5001"]  # STREAM_PUBLIC_URL
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"submissionTokenQuery": []} in operation["security"]
    assert schema["components"]["securitySchemes"]["submissionTokenQuery"]["name"] == "access_token"
    submission = submission_create(**VALID)
    assert client.get(f"/api/submissions/{submission.id}/events").status_code == 404  # the stream process's


@pytest.mark.parametrize("field", ["name", "message"])
def test_required_text_has_the_rules_the_api_applies(schema, field):
    spec = schema["components"]["schemas"]["SubmissionInput"]["properties"][field]
    assert spec["minLength"] == 1 and spec["pattern"] == r"\S"
    for value in ("", "   ", "\n\t", "x", "  x  "):
        refused = APIClient().post(LIST, {**VALID, field: value}, format="json").status_code == 400
        assert refused == (re.search(spec["pattern"], value) is None or len(value) < spec["minLength"])


def test_the_schema_names_no_honeypot(schema):
    """A robot that reads the schema must not learn which field is the trap (finding 11)."""
    assert "website" not in json.dumps(schema)
    trapped = APIClient().post(LIST, {**VALID, "website": "http://spam.example"}, format="json")
    assert trapped.status_code == 400 and trapped.json() == {"website": ["Leave this field empty."]}


def test_every_input_field_has_its_messages_in_the_400(schema):
    invalid = schema["components"]["schemas"]["SubmissionInvalid"]["properties"]
    assert set(SubmissionInputSerializer().fields) <= set(invalid)
    assert set(invalid) == set(SubmissionInvalidSerializer().fields)


def test_a_submission_is_answered_as_documented(schema):
    response = APIClient().post(LIST, VALID, format="json")
    assert response.status_code == 201
    assert_matches(schema, "post", LIST, response)
    assert {"access_token", "access_expires_at"} <= set(response.json())


@pytest.mark.parametrize(
    "body, content_type",
    [
        ('{"name": "", "email": "nope", "message": "   "}', "application/json"),
        ('["not", "an", "object"]', "application/json"),
        ("{not json", "application/json"),
        ('{"name": "Ada", "email": "ada@example.org", "message": "Hi", "website": "x"}', "application/json"),
    ],
)
def test_refusals_are_answered_as_documented(schema, body, content_type):
    response = APIClient().generic("POST", LIST, body, content_type=content_type)
    assert response.status_code == 400
    assert_matches(schema, "post", LIST, response)


def test_another_media_type_is_answered_as_documented(schema):
    response = APIClient().generic("POST", LIST, "name=Ada", content_type="text/plain")
    assert response.status_code == 415
    assert_matches(schema, "post", LIST, response)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_too_large_a_body_is_answered_as_documented(schema):
    response = APIClient().post(LIST, {**VALID, "message": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert_matches(schema, "post", LIST, response)


def test_the_rate_limit_is_answered_as_documented(schema, monkeypatch):
    monkeypatch.setattr(SubmissionRateThrottle, "THROTTLE_RATES", {"submissions": "1/minute"})
    caches["throttle"].clear()
    try:
        client = APIClient()
        assert client.post(LIST, VALID, format="json").status_code == 201
        response = client.post(LIST, VALID, format="json")
    finally:
        caches["throttle"].clear()
    assert response.status_code == 429
    assert_matches(schema, "post", LIST, response)


def test_the_lists_answer_to_anyone_but_staff_is_the_documented_403(schema, django_user_model):
    anonymous = APIClient().get(LIST)
    assert anonymous.status_code == 403
    assert_matches(schema, "get", LIST, anonymous)
    member = APIClient()
    member.force_login(django_user_model.objects.create_user("member", password="x"))
    assert_matches(schema, "get", LIST, member.get(LIST))
    assert member.get(LIST).status_code == 403


def test_the_lists_answer_to_staff_is_the_documented_array(schema, admin_client):
    submission_create(**VALID)
    response = admin_client.get(LIST)
    assert response.status_code == 200 and len(response.json()) == 1
    assert_matches(schema, "get", LIST, response)


def test_the_browsable_page_still_shows_everyone_the_form():
    response = APIClient().get(LIST, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b'name="message"' in response.content


@pytest.mark.parametrize(
    "known, token, expected",
    [(True, "its own", 200), (True, None, 401), (True, "someone else's", 403), (False, "its own", 404)],
)
def test_each_answer_of_the_detail_is_as_documented(schema, known, token, expected):
    submission = submission_create(**VALID)
    submission_id = submission.id if known else "00000000-0000-4000-8000-000000000000"
    headers = {}
    if token is not None:
        value = submission.access_token if token == "its own" else "someone-elses-token"
        headers["HTTP_AUTHORIZATION"] = f"Bearer {value}"
    response = APIClient().get(f"/api/submissions/{submission_id}/", **headers)
    assert response.status_code == expected
    assert_matches(schema, "get", DETAIL, response)


def test_an_api_path_no_route_matches_gets_a_json_404(client):
    response = client.get("/api/submissions/not-a-uuid/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert "text/html" in client.get("/no-such-page/")["Content-Type"]
