import pytest
from django.conf import settings
from django.test import Client, override_settings

from crm.models import CrmLead

pytestmark = [pytest.mark.django_db, pytest.mark.urls("crm.urls")]

LEAD = {"external_id": "sub-1", "name": "Ada", "email": "ada@example.org", "company": "", "owner": "o", "tags": ["t"]}


@pytest.fixture
def client():
    """The workflow's view of the CRM: it holds the token."""
    return Client(headers={"Authorization": f"Bearer {settings.CRM_API_TOKEN}"})


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {settings.CRM_API_TOKEN}"])
def test_leads_cannot_be_listed_read_or_deleted_without_the_token(authorization):
    lead = CrmLead.objects.create(external_id="sub-9", name="Ada", email="ada@example.org")
    stranger = Client(headers={"Authorization": authorization} if authorization else {})
    assert stranger.get("/crm/api/leads/").status_code == 403
    assert stranger.get(f"/crm/api/leads/{lead.id}/").status_code == 403
    assert stranger.delete(f"/crm/api/leads/{lead.id}/").status_code == 403
    assert stranger.post("/crm/api/leads/", LEAD, content_type="application/json").status_code == 403
    assert CrmLead.objects.count() == 1


@override_settings(CRM_API_TOKEN="")
def test_without_a_configured_token_the_crm_refuses_everyone(client):
    assert client.get("/crm/api/leads/").status_code == 403


def test_create_is_idempotent_on_the_idempotency_key(client):
    first = client.post("/crm/api/leads/", LEAD, content_type="application/json", HTTP_IDEMPOTENCY_KEY="sub-1")
    again = client.post("/crm/api/leads/", LEAD, content_type="application/json", HTTP_IDEMPOTENCY_KEY="sub-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert CrmLead.objects.count() == 1


def test_read_list_by_external_id_and_delete(client):
    lead_id = client.post("/crm/api/leads/", LEAD, content_type="application/json").json()["id"]
    assert client.get(f"/crm/api/leads/{lead_id}/").json()["email"] == "ada@example.org"
    assert [lead["id"] for lead in client.get("/crm/api/leads/?external_id=sub-1").json()["results"]] == [lead_id]
    assert client.delete(f"/crm/api/leads/{lead_id}/").status_code == 204
    assert client.delete(f"/crm/api/leads/{lead_id}/").status_code == 404


def test_a_request_can_ask_for_a_failure(client):
    response = client.post("/crm/api/leads/", LEAD, content_type="application/json", HTTP_X_CRM_FAIL="503")
    assert response.status_code == 503
    assert not CrmLead.objects.exists()


@override_settings(CRM_FAIL_RATE=1.0)
def test_the_environment_can_make_every_request_fail(client):
    assert client.get("/crm/api/leads/").status_code == 503


def test_a_request_can_ask_for_latency(client):
    import time

    started = time.monotonic()
    assert client.get("/crm/api/leads/", HTTP_X_CRM_LATENCY_MS="150").status_code == 200
    assert time.monotonic() - started >= 0.15


@override_settings(CRM_FAIL_RATE=1.0, CRM_FAIL_STATUS=503, CRM_LATENCY_MS=0)
def test_a_caller_without_the_token_gets_no_injected_fault_or_delay(monkeypatch):
    slept = []
    monkeypatch.setattr("crm.faults.time.sleep", slept.append)
    stranger = Client(headers={"X-CRM-Latency-Ms": "3000", "X-CRM-Fail": "500"})
    assert stranger.get("/crm/api/leads/").status_code == 403  # refused at once, not held 3 s nor failed
    assert slept == []
    holder = Client(headers={"Authorization": f"Bearer {settings.CRM_API_TOKEN}", "X-CRM-Latency-Ms": "5"})
    assert holder.get("/crm/api/leads/").status_code == 503  # the token holder gets the faults it asked for
    assert slept == [0.005]
