"""Swagger UI at /docs in headless Chromium: every operation listed, Authorize, Try it out.

`make test-browser` runs this; the default test run leaves it out through its `browser`
marker, since it needs Debian's `chromium` package and Playwright for Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from ..conftest import ROOT_PASSWORD
from .conftest import Server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a root user on a machine without a GPU or internet access; Playwright adds
#: --headless itself.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 20_000


@dataclass
class RecordingPage:
    """A Playwright page and the URL of every request it made."""

    page: Any
    requested_urls: list[str] = field(default_factory=list)


@pytest.fixture
def browser_page() -> Iterator[RecordingPage]:
    # Imported here, so that collecting this module needs no Playwright in `make test`.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is missing: pip install -e '.[contract]'")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        recording = RecordingPage(browser.new_page(viewport={"width": 1280, "height": 900}))
        recording.page.set_default_timeout(TIMEOUT_MS)
        recording.page.on("request", lambda request: recording.requested_urls.append(request.url))
        try:
            yield recording
        finally:
            browser.close()


def root_token(base_url: str) -> str:
    login = requests.post(
        f"{base_url}/v1/token", data={"username": "root", "password": ROOT_PASSWORD}, timeout=10
    )
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def spec_operation_ids(base_url: str) -> set[str]:
    """Return the element ids Swagger UI gives operations: operations-<tag>-<operationId>."""
    spec = requests.get(f"{base_url}/openapi.json", timeout=10).json()
    return {
        f"operations-{operation['tags'][0]}-{operation['operationId']}"
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    }


def test_swagger_ui_lists_authorizes_and_runs(
    server: Server, browser_page: RecordingPage, tmp_path: Path
) -> None:
    page = browser_page.page
    page.goto(f"{server.url}/docs/")
    page.wait_for_selector(".opblock")

    listed = set(page.eval_on_selector_all(".opblock", "blocks => blocks.map(block => block.id)"))
    assert listed == spec_operation_ids(server.url)

    page.click("button.authorize")
    page.fill("input[aria-label='auth-bearer-value']", root_token(server.url))
    page.click(".auth-btn-wrapper button.authorize")
    page.click(".auth-btn-wrapper button.btn-done")

    operation = page.locator("#operations-activities-list_activities")
    operation.locator(".opblock-summary-control").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "200"
    body = operation.locator(
        ".live-responses-table .response-col_description pre"
    ).first.inner_text()
    assert '"name": "basketball"' in body
    assert '"name": "swimming"' in body

    screenshot = tmp_path / "swagger-ui.png"
    operation.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 0

    # Everything the page loaded came from the server under test, none from the internet.
    origins = {
        f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in browser_page.requested_urls
    }
    assert origins == {server.url}
