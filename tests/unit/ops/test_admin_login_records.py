"""The admin's sign-in records are personal data too (address, username, browser): the purge forgets
old ones, and failed attempts once their lockout is over (finding 9: they were never purged)."""

import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.core.management import call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db


def aged(model, days: float, **fields):
    row = model.objects.create(ip_address="203.0.113.9", username="ops", user_agent="test", **fields)
    model.objects.filter(pk=row.pk).update(attempt_time=timezone.now() - timedelta(days=days))
    return row


def test_the_purge_forgets_old_sign_in_records_and_keeps_recent_ones(settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    old_log, new_log = aged(AccessLog, 100), aged(AccessLog, 1)
    old_failure, _ = aged(AccessFailureLog, 100), aged(AccessFailureLog, 1)
    lockout_over = aged(AccessAttempt, 1, failures_since_start=3, get_data="", post_data="")
    AccessAttempt.objects.create(
        ip_address="203.0.113.10", username="ops", user_agent="t", failures_since_start=5, get_data="", post_data=""
    )  # locked out now: kept, or the lockout would end early

    out = io.StringIO()
    call_command("purge", "--days", "90", stdout=out)

    assert "axes (admin sign-in records): 3" in out.getvalue()
    assert list(AccessLog.objects.all()) == [new_log]
    assert not AccessFailureLog.objects.filter(pk=old_failure.pk).exists() and AccessFailureLog.objects.count() == 1
    assert not AccessAttempt.objects.filter(pk=lockout_over.pk).exists() and AccessAttempt.objects.count() == 1
    assert not AccessLog.objects.filter(pk=old_log.pk).exists()
