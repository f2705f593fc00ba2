"""Safe by default, in the browser: the demo switch in the page, the private link, the content
security policy (findings 6, 7 and 8 of the security review)."""

import re
import uuid

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.servers import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("dump_logs_on_failure")]

TIMEOUT_MS = 60_000
DEMO_LABEL = "Make the workflow fail at:"
# Every violation of the page's content security policy, as the page itself sees it.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture(scope="module")
def frontend_without_demo(stack, frontend) -> str:
    """The same build, served with DEMO_CONTROLS=false (the API beside it has them on)."""
    return stack.start_frontend("frontend-no-demo", port=free_port(), DEMO_CONTROLS="false")


def test_the_demo_control_is_shown_only_when_the_server_enables_it(page: Page, frontend, frontend_without_demo):
    assert requests.get(f"{frontend_without_demo}/config.json", timeout=5).json()["demoControls"] is False
    page.goto(f"{frontend_without_demo}/demo")
    expect(page.get_by_label("Name")).to_be_visible()
    expect(page.get_by_text("switched off on this server")).to_be_visible()
    expect(page.get_by_label(DEMO_LABEL)).to_have_count(0)

    assert requests.get(f"{frontend}/config.json", timeout=5).json()["demoControls"] is True
    page.goto(f"{frontend}/demo")
    expect(page.get_by_label(DEMO_LABEL)).to_be_visible()


def test_the_honeypot_is_invisible_and_out_of_the_tab_order(page: Page, frontend):
    page.goto(f"{frontend}/demo")
    honeypot = page.locator("input[name='website']")
    expect(honeypot).to_have_count(1)
    expect(honeypot).not_to_be_in_viewport()
    expect(honeypot).to_have_attribute("tabindex", "-1")


def test_a_submission_runs_without_a_csp_violation_and_its_link_is_private(page: Page, frontend, browser):
    page.add_init_script(RECORD_VIOLATIONS)
    document = page.goto(f"{frontend}/demo")
    policy = document.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert document.headers["x-content-type-options"] == "nosniff"

    page.get_by_label("Name").fill("\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627")  # a ZWNJ in a real name
    page.get_by_label("Email").fill(f"e2e-{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_label("Message").fill("Visit http://phish.example please")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_test_id("final-status")).to_contain_text("completed", timeout=TIMEOUT_MS)
    assert page.evaluate("window.__cspViolations") == []
    assert page.locator("a[href*='phish']").count() == 0  # visitor text is never a link

    # Without its token, the same address shows nothing of the submission.
    private_link = page.url
    bare = private_link.split("#", 1)[0]
    assert re.search(r"#token=[\w-]{40,}$", private_link)
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(bare)
        expect(other.get_by_role("heading", name="Private link needed")).to_be_visible(timeout=TIMEOUT_MS)
        expect(other.get_by_text("phish")).to_have_count(0)
        other.goto(private_link)  # the link itself opens it, in any browser
        expect(other.get_by_test_id("final-status")).to_contain_text("completed", timeout=TIMEOUT_MS)
    finally:
        stranger.close()


def test_the_production_build_publishes_no_source_maps(frontend):
    index = requests.get(f"{frontend}/", timeout=5).text
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', index)
    assert scripts
    for script in scripts:
        assert "sourceMappingURL" not in requests.get(f"{frontend}{script}", timeout=5).text
        assert requests.get(f"{frontend}{script}.map", timeout=5).status_code == 404
