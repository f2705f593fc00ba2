"""Fixtures of the intake tests."""

import pytest
from django.core.cache import caches

from intake.throttling import SubmissionRateThrottle


@pytest.fixture
def two_per_minute(monkeypatch):
    monkeypatch.setattr(SubmissionRateThrottle, "THROTTLE_RATES", {"submissions": "2/minute"})
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()
