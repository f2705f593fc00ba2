"""The fault suite in CI: 100 submissions at 30/s per case, one fault each (see tests/faults.py).

Pass = every accepted submission final (in the state the case expects), 0 missing and 0 duplicate
emails, 0 duplicate CRM leads and a lead for every COMPLETED one; after the workers' SIGKILL, the
last email within 15 s of their restart. Each case prints its line in the
run's figures.
"""

import os

import pytest

from tests.conftest import report_figure
from tests.faults import CASES, FAULT_ENV, run_case
from tests.servers import Stack

pytestmark = pytest.mark.integration

COUNT = int(os.environ.get("FAULT_SUITE_COUNT", "100"))


@pytest.fixture(scope="module")
def fault_stack():
    stack = Stack(extra_env=FAULT_ENV).start().supervise()
    yield stack
    stack.stop()


@pytest.mark.parametrize("name", list(CASES))
def test_fault_case(fault_stack, name):
    outcome = run_case(fault_stack, CASES[name], count=COUNT)
    report_figure(("PASS " if outcome.passed else "FAIL ") + outcome.line())
    if not outcome.passed:
        print(fault_stack.logs())
    assert outcome.unfinished == 0, outcome.line()
    assert not outcome.too_many_refused, outcome.line()  # only an API outage may refuse, ~1 s of load
    assert (outcome.missing_emails, outcome.duplicate_emails) == (0, 0), outcome.line()
    assert (outcome.duplicate_leads, outcome.missing_leads) == (0, 0), outcome.line()
    assert set(outcome.finals) == {CASES[name].expect}, outcome.line()
    assert not outcome.late_last_email, outcome.line()  # a dead worker's sends are taken over in seconds
