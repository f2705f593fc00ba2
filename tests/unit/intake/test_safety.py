"""Safe by default, at the API: the client address, the abuse guard, validation, the demo switch and
the access token (findings 2, 3, 6 and 7)."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from intake.models import Submission
from outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db

BODY = {"name": "Ada", "email": "ada@example.org", "message": "Hi"}


def post(client=None, forwarded_for=None, **changes):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return (client or APIClient()).post("/api/submissions/", {**BODY, **changes}, format="json", **headers)


def proxies(settings, count):
    settings.TRUSTED_PROXIES = count
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}


# --- the client address -------------------------------------------------------------------------


@pytest.mark.usefixtures("two_per_minute")
def test_a_spoofed_forwarded_for_header_gets_no_new_allowance(settings):
    proxies(settings, 0)  # local mode: nothing in front of the API
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    codes = [post(client, forwarded_for=f"198.51.100.{n}").status_code for n in range(4)]
    assert codes == [201, 201, 429, 429]


@pytest.mark.usefixtures("two_per_minute")
def test_behind_one_proxy_the_address_it_appended_counts_not_the_clients_own(settings):
    proxies(settings, 1)  # the bundled nginx sets X-Forwarded-For to its peer's address
    proxy = APIClient(REMOTE_ADDR="172.18.0.5")
    spoofed = [post(proxy, forwarded_for=f"10.0.0.{n}, 203.0.113.7").status_code for n in range(3)]
    assert spoofed == [201, 201, 429]
    assert post(proxy, forwarded_for="203.0.113.8").status_code == 201  # another visitor


@pytest.mark.usefixtures("two_per_minute")
def test_behind_a_load_balancer_and_nginx_each_visitor_keeps_their_own_allowance(settings):
    proxies(settings, 2)  # TRUSTED_PROXIES=1 (the load balancer) + the bundled nginx
    nginx = APIClient(REMOTE_ADDR="172.18.0.5")
    # The balancer appends the visitor, nginx appends the balancer: "<client's own>, visitor, balancer".
    first = [post(nginx, forwarded_for=f"10.9.9.{n}, 203.0.113.7, 192.0.2.10").status_code for n in range(3)]
    assert first == [201, 201, 429]
    assert post(nginx, forwarded_for="203.0.113.8, 192.0.2.10").status_code == 201  # another visitor


def test_the_bundled_nginx_is_counted_on_top_of_the_operators_proxies(monkeypatch):
    import importlib

    import config.settings.security as security

    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    monkeypatch.setenv("BUNDLED_PROXY_HOPS", "1")
    try:
        assert importlib.reload(security).TRUSTED_PROXIES == 2
    finally:
        monkeypatch.undo()
        importlib.reload(security)


@pytest.mark.usefixtures("two_per_minute")
def test_a_refusal_says_when_to_come_back():
    client = APIClient()
    post(client), post(client)
    response = post(client)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "available in" in response.json()["detail"]


# --- abuse guard and validation -------------------------------------------------------------------


def test_a_filled_honeypot_is_refused_and_nothing_is_stored():
    response = post(website="http://spam.example")
    assert response.status_code == 400
    assert response.json() == {"website": ["Leave this field empty."]}
    assert not Submission.objects.exists() and not OutboxEvent.objects.exists()


def test_an_empty_honeypot_is_accepted():
    assert post(website="").status_code == 201


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, with a zero-width non-joiner
        "\u0646\u06cc\u200c\u0644\u0648\u0641\u0631",
        "Ada \U0001f469\u200d\U0001f4bb",  # woman technologist: a ZWJ sequence
        "Kim \U0001f468\u200d\U0001f469\u200d\U0001f467",  # family: two joiners
        "Ewan \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland's flag: tags
        "\u05e9\u05e8\u05d4 (Sarah)\u200f",  # Hebrew and Latin with a right-to-left mark
        "Zoë Saldaña-Łukasiewicz",
    ],
)
def test_real_names_are_accepted(name):
    response = post(name=name)
    assert response.status_code == 201, response.json()
    assert Submission.objects.get(id=response.json()["id"]).name == name


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("name", "Ada\u202eevil.exe", "bidirectional"),  # right-to-left override
        ("name", "Ada\u2066x\u2069", "bidirectional"),  # isolates
        ("company", "ACME\u202d", "bidirectional"),
        ("message", "Pay \u202e0001\u202c now", "bidirectional"),
        ("name", "Ada\u200bLovelace", "control characters"),  # zero-width space
        ("name", "Ada\ufeff", "control characters"),  # byte-order mark
        ("name", "Ada\u2028Lovelace", "control characters"),  # line separator
        ("name", "Ada\x1b[31m", "control characters"),  # terminal escape
        ("message", "hi\x00", "control characters"),
    ],
)
def test_dangerous_characters_are_refused_with_a_field_message(field, value, fragment):
    response = post(**{field: value})
    assert response.status_code == 400
    assert fragment in response.json()[field][0]


# --- demo controls ------------------------------------------------------------------------------


def test_demo_controls_are_off_unless_switched_on():
    from django.conf import settings

    assert settings.DEMO_CONTROLS is False
    response = post(demo_fail_at="create_crm_lead")
    assert response.status_code == 400
    assert response.json() == {"demo_fail_at": ["Demo controls are disabled on this server."]}


@override_settings(DEMO_CONTROLS=True)
def test_demo_controls_work_when_switched_on():
    response = post(demo_fail_at="create_crm_lead")
    assert response.status_code == 201
    assert Submission.objects.get(id=response.json()["id"]).demo_fail_at == "create_crm_lead"


# --- the access token -----------------------------------------------------------------------------


def created():
    response = post()
    assert response.status_code == 201
    return response.json()


def detail(body, token=None, client=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return (client or APIClient()).get(f"/api/submissions/{body['id']}/", **headers)


def test_the_submit_response_carries_a_token_that_is_stored_only_as_a_digest():
    body = created()
    assert len(body["access_token"]) >= 40
    stored = Submission.objects.get(id=body["id"]).access_token_hash
    assert stored and body["access_token"] not in stored
    assert body["access_expires_at"]


def test_the_detail_needs_the_token():
    body = created()
    anonymous = detail(body)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert "ada@example.org" not in anonymous.content.decode()
    assert detail(body, token="guessed").status_code == 403
    assert detail(body, token=created()["access_token"]).status_code == 403  # another submission's
    opened = detail(body, token=body["access_token"])
    assert opened.status_code == 200
    assert opened.json()["email"] == "ada@example.org"
    assert "no-store" in opened["Cache-Control"]


def test_the_token_expires_after_the_configured_time(settings):
    settings.SUBMISSION_ACCESS_TTL = timedelta(hours=2)
    body = created()
    assert detail(body, token=body["access_token"]).status_code == 200
    Submission.objects.filter(id=body["id"]).update(created_at=timezone.now() - timedelta(hours=2, seconds=1))
    expired = detail(body, token=body["access_token"])
    assert expired.status_code == 403
    assert "expired" in expired.json()["detail"]


def test_staff_read_any_submission_with_their_login(admin_client):
    body = created()
    response = admin_client.get(f"/api/submissions/{body['id']}/")
    assert response.status_code == 200 and response.json()["name"] == "Ada"


def test_the_list_of_submissions_is_for_staff_only(admin_client):
    created()
    assert "ada@example.org" not in APIClient().get("/api/submissions/").content.decode()
    assert admin_client.get("/api/submissions/").json()[0]["email"] == "ada@example.org"


def test_the_detail_shows_no_internal_owner_mailbox_and_no_mail_error_wording(settings):
    from events import WorkflowCompleted
    from intake.services import event_emit
    from mailer.models import EmailDelivery

    body = created()
    submission = Submission.objects.get(id=body["id"])
    with transaction.atomic():
        event_emit(
            event=WorkflowCompleted(submission_id=body["id"], owner="alice@sales.example", crm_lead_id="c-1"),
            correlation_id=str(submission.correlation_id),
        )
    reason = "not sent: 3 confirmations already went to this address in the last 24 h (CONFIRMATIONS_PER_RECIPIENT)"
    EmailDelivery.objects.create(
        submission=submission, recipient=submission.email, status=EmailDelivery.Status.FAILED, last_error=reason
    )
    shown = detail(body, token=body["access_token"]).json()
    owners = [item["data"]["owner"] for item in shown["timeline"] if "owner" in item["data"]]
    assert owners == ["alice"]
    assert shown["email_delivery"]["last_error"] == "It could not be sent."
    text = json.dumps(shown)
    assert "sales.example" not in text and "CONFIRMATIONS_PER_RECIPIENT" not in text
