import pytest
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from intake.throttling import SubmissionRateThrottle

pytestmark = pytest.mark.django_db

BODY = {"name": "Ada", "email": "ada@example.org", "message": "Hi"}


@pytest.mark.usefixtures("two_per_minute")
def test_submissions_beyond_the_rate_limit_are_refused_with_429():
    client = APIClient()
    codes = [client.post("/api/submissions/", BODY, format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert client.get("/api/submissions/").status_code == 403  # not 429: only POST is limited (GET is staff-only)


@pytest.mark.usefixtures("two_per_minute")
def test_submissions_are_accepted_when_the_rate_limit_store_is_down(monkeypatch):
    unreachable = RedisCache("redis://127.0.0.1:9/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    monkeypatch.setattr(SubmissionRateThrottle, "cache", unreachable)
    client = APIClient()
    codes = [client.post("/api/submissions/", BODY, format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 201]
