"""A visitor's path through the web page, in a real browser against the real running stack."""

import json
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("dump_logs_on_failure")]

HAPPY_STEPS = [
    "accepted",
    "published",
    "handed",
    "email",
    "tag_lead",
    "assign_owner",
    "create_crm_lead",
    "completed",
]
TIMEOUT_MS = 60_000


def fill_form(page: Page, frontend: str, *, email: str, fail_at: str = "") -> None:
    page.goto(f"{frontend}/")
    page.get_by_role("link", name="Try the live demo").click()
    expect(page).to_have_url(re.compile(r"/demo$"))
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Company").fill("Navy")
    page.get_by_label("Message").fill("Hello from the browser test.\nSecond line.")
    if fail_at:
        page.get_by_label("Make the workflow fail at:").select_option(fail_at)


def test_landing_page_explains_the_path_and_leads_to_the_demo(page, frontend, screenshot):
    page.goto(f"{frontend}/")
    diagram = page.locator("figure.flow")
    expect(diagram).to_be_visible()
    names = diagram.locator(".flow__name").all_inner_texts()
    assert names == ["API", "Outbox", "Kafka", "Bridge", "Celery", "Mailer", "Workflow", "CRM"]
    screenshot("landing")
    page.get_by_role("link", name="Try the live demo").click()
    expect(page.get_by_role("heading", name="Send a message")).to_be_visible()


def test_the_form_works_with_the_keyboard_alone_in_a_sensible_order(page, frontend):
    page.goto(f"{frontend}/demo")
    expect(page.get_by_label("Name")).to_be_visible()
    page.get_by_label("Name").focus()
    order = []
    for _ in range(5):
        order.append(page.evaluate("document.activeElement.name || document.activeElement.textContent"))
        page.keyboard.press("Tab")
    order.append(page.evaluate("document.activeElement.textContent"))
    assert order == ["name", "email", "company", "message", "demo_fail_at", "Send message"]

    page.get_by_label("Name").focus()
    page.keyboard.type("Keyboard User")
    page.keyboard.press("Tab")
    page.keyboard.type(f"kbd-{uuid.uuid4().hex[:8]}@example.org")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("Typed without a mouse.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("final-status")).to_contain_text("completed", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("announcer")).to_have_attribute("aria-live", "polite")


def test_submission_progress_reaches_completed_with_every_step(page, frontend, screenshot):
    fill_form(page, frontend, email=f"e2e-{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_role("button", name="Send message").click()
    # The private link: the access token rides in the fragment, which never reaches a server.
    expect(page).to_have_url(re.compile(r"/submissions/[0-9a-f-]{36}#token=[\w-]{40,}$"))

    expect(page.get_by_test_id("final-status")).to_contain_text("completed", timeout=TIMEOUT_MS)
    for step in HAPPY_STEPS:
        expect(page.get_by_test_id(f"step-{step}")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("step-email")).to_contain_text(re.compile(r"\d\d:\d\d:\d\d\.\d{3}"))
    expect(page.get_by_test_id("step-published")).to_contain_text("+")  # the delay since the previous step
    screenshot("completed")

    # The progress URL is the submission's own: a reload shows the same finished run.
    page.reload()
    expect(page.get_by_test_id("final-status")).to_contain_text("completed", timeout=TIMEOUT_MS)
    for step in HAPPY_STEPS:
        expect(page.get_by_test_id(f"step-{step}")).to_have_attribute("data-state", "done")
    screenshot("after-reload")


def test_crm_failure_shows_compensation_steps_in_order_and_compensated(page, frontend, stack, screenshot):
    streams = []
    page.on("response", lambda response: streams.append(response) if "/events?" in response.url else None)
    fill_form(page, frontend, email=f"e2e-{uuid.uuid4().hex[:8]}@example.org", fail_at="create_crm_lead")
    page.get_by_role("button", name="Send message").click()

    expect(page.get_by_test_id("final-status")).to_contain_text("compensated", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("step-failed")).to_contain_text("503")
    compensations = page.locator("[data-testid^='step-compensated-']")
    expect(compensations).to_have_count(4)
    order = [compensations.nth(i).get_attribute("data-testid") for i in range(4)]
    assert order == [
        "step-compensated-create_crm_lead",
        "step-compensated-assign_owner",
        "step-compensated-tag_lead",
        "step-compensated-final",
    ]
    expect(page.get_by_test_id("step-email")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("step-compensated-final")).to_contain_text("503")
    screenshot("compensated")
    # The run (a second or more: the CRM's 503 is retried first) was followed live, on the stream's
    # own server (STREAM_PUBLIC_URL from /config.json), not the API's.
    assert [(r.url.split("/api/")[0], r.status) for r in streams] == [(stack.stream, 200)]


def test_server_field_errors_appear_at_their_fields(page, frontend, screenshot):
    """The client checks the same rules as the server; an out-of-date client is simulated by
    changing the request on its way out, so the real server's 400 reaches the page."""

    def tamper(route):
        body = json.loads(route.request.post_data)
        route.continue_(post_data=json.dumps({**body, "email": "grace@", "name": "x" * 101}))

    page.route("**/api/submissions/", tamper)
    fill_form(page, frontend, email="grace@example.org")
    page.get_by_role("button", name="Send message").click()

    email = page.get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{email.get_attribute('aria-describedby').split()[-1]}")).to_contain_text(
        "Enter a valid email address."
    )
    name = page.get_by_label("Name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Ensure this field has no more than 100 characters.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/demo$"))
    expect(page.get_by_label("Message")).to_have_value("Hello from the browser test.\nSecond line.")
    screenshot("server-errors")


def test_client_validation_blocks_an_invalid_form_before_sending(page, frontend, screenshot):
    requests_sent = []
    page.on("request", lambda req: requests_sent.append(req) if req.method == "POST" else None)
    page.goto(f"{frontend}/demo")
    page.get_by_label("Email").fill("not an address")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_label("Name")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    assert requests_sent == []
    screenshot("client-errors")


def tops(page: Page) -> list[float]:
    """Where the fields start in the document (not the viewport: focusing an error scrolls)."""
    return [
        page.get_by_label(label).evaluate("el => el.getBoundingClientRect().top + window.scrollY")
        for label in ("Email", "Company", "Message")
    ]


def test_errors_appearing_do_not_move_the_fields(page, frontend, screenshot):
    def tamper(route):
        body = json.loads(route.request.post_data)
        route.continue_(post_data=json.dumps({**body, "name": "x" * 101, "company": "y" * 101}))

    page.goto(f"{frontend}/demo")
    expect(page.get_by_label("Message")).to_be_visible()
    before = tops(page)
    page.get_by_role("button", name="Send message").click()  # client errors: everything required is empty
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    assert tops(page) == before

    page.route("**/api/submissions/", tamper)  # the server's longer messages
    fill_form(page, frontend, email="grace@example.org")
    before = tops(page)
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_label("Company")).to_have_attribute("aria-invalid", "true")
    assert tops(page) == before
    screenshot("long-server-errors")


def test_phone_sized_screen_shows_the_form_and_progress_without_sideways_scrolling(browser, frontend, request):
    from tests.e2e.conftest import ARTIFACTS

    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        fill_form(page, frontend, email=f"phone-{uuid.uuid4().hex[:8]}@example.org")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-form.png"), full_page=True)
        page.get_by_role("button", name="Send message").click()
        expect(page.get_by_test_id("final-status")).to_contain_text("completed", timeout=TIMEOUT_MS)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-progress.png"), full_page=True)
    finally:
        context.close()
