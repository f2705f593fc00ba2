"""The API answers as its OpenAPI schema says: schemathesis against the running API (`stack`).

Every operation of /api/schema/ but the live stream (another process, tests/integration/test_stream.py)
gets generated requests, valid and invalid, a fixed number per operation and the same ones on every
run; each answer must be no server error, and a status, content type, headers and body that the
schema lists for it. A generated id opens no submission, so each detail request is also sent for a
real one with its token (a 200); the answers a generator reaches only by chance are asked for below.
"""

import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import submit

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dump_logs_on_failure")]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
LIST = "/api/submissions/"
DETAIL = "/api/submissions/{submission_id}/"
OPERATIONS = [("POST", LIST), ("GET", LIST), ("GET", DETAIL)]
# Per operation and generation mode (valid, invalid): the run takes 8-15 s on 2 cores.
EXAMPLES_PER_OPERATION = 100


@pytest.fixture(scope="module")
def visitor(stack) -> dict:
    """A submission of this module's own, as its visitor holds it (the 201 body, with the token)."""
    return submit(stack, name="Schema Visitor", email=f"schemathesis-{uuid.uuid4().hex[:8]}@example.org")


@pytest.fixture(scope="module")
def api_schema(stack):
    schema = schemathesis.openapi.from_url(f"{stack.api}/api/schema/", headers={"Accept": "application/json"})
    schema.config.update(base_url=stack.api)
    return schema.exclude(path_regex=r"/events$")  # served by the stream process, not this API


@pytest.fixture(scope="module")
def staff(stack) -> requests.Session:
    """A session logged in to the admin as a staff user, as an operator's browser is."""
    username, password = f"ops-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser({username!r}, 'ops@example.org', {password!r})",
    )
    session = requests.Session()
    login = f"{stack.api}/admin/login/"
    session.get(login, timeout=10)
    form = {"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    answer = session.post(login, data=form, headers={"Referer": login}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return session


def test_the_run_below_covers_every_operation_of_this_api(api_schema):
    """So that an operation added later is not left out of it."""
    operations = {(result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()}
    assert operations == set(OPERATIONS)


# Hypothesis drives schemathesis's strategies itself: schemathesis.pytest.from_fixture (the lazy loader a
# schema from a fixture needs) does not run under pytest 9 (it sets Node._nodeid, which pytest 9 removed).


@pytest.mark.parametrize(
    "method, path, mode",
    [pytest.param(method, path, mode) for method, path in OPERATIONS for mode in GenerationMode],
)
def test_generated_requests_get_answers_the_schema_lists(api_schema, visitor, method, path, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def exchange(case):
        case.call_and_validate(checks=CHECKS)
        if path == DETAIL:  # a generated id opens nothing: the same request for a real one, with its token
            case.path_parameters = {"submission_id": visitor["id"]}
            token = {"Authorization": f"Bearer {visitor['access_token']}"}
            assert case.call_and_validate(checks=CHECKS, headers=token).status_code == 200

    exchange()


@pytest.mark.parametrize(
    "known, token, expected",
    [(True, "its own", 200), (True, None, 401), (True, "nobody's", 403), (False, "its own", 404)],
)
def test_each_answer_of_the_detail_matches_the_schema(api_schema, visitor, known, token, expected):
    submission_id = visitor["id"] if known else str(uuid.uuid4())
    bearer = visitor["access_token"] if token == "its own" else token
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    case = api_schema[DETAIL]["GET"].Case(path_parameters={"submission_id": submission_id}, headers=headers)
    response = case.call_and_validate(checks=CHECKS)
    assert response.status_code == expected


def test_the_list_answers_staff_with_submissions_and_anyone_else_with_403(api_schema, stack, staff):
    latest = submit(stack, email=f"listed-{uuid.uuid4().hex[:8]}@example.org")
    operation = api_schema[LIST]["GET"]
    assert operation.Case().call_and_validate(checks=CHECKS).status_code == 403
    listed = operation.Case().call_and_validate(checks=CHECKS, session=staff)
    assert listed.status_code == 200
    assert listed.json()[0]["id"] == latest["id"]


def test_too_large_a_body_gets_the_413_the_schema_lists(api_schema, stack):
    case = api_schema[LIST]["POST"].Case(
        body={"name": "Ada", "email": "ada@example.org", "message": "x" * 300_000}, media_type="application/json"
    )
    assert case.call_and_validate(checks=CHECKS).status_code == 413
