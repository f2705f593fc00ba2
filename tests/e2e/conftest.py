"""Browser fixtures: Debian's chromium driven by Playwright, against the stack the session started."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.servers import REPO

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "e2e"
# Without the background-networking flags chromium keeps dialling out, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def frontend(stack) -> str:
    stack.start_frontend()
    return stack.frontend


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it lives,
    # and tests after the browser's own must be free to start theirs.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page, request):
    """Save a full-page screenshot as a test artifact: screenshot(suffix)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(suffix: str = "") -> Path:
        path = ARTIFACTS / f"{request.node.name}{'-' + suffix if suffix else ''}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
