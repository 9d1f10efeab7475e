"""Browser tests: Debian's Chromium, driven by Playwright's sync API, against pytest-django's
live server (which serves the built frontend through the staticfiles finders).

Playwright never downloads a browser here: it launches /usr/bin/chromium (`make browser-deps`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
DIST_INDEX = ROOT / "frontend" / "dist" / "index.html"
RESULTS = ROOT / "bench" / "results"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PASSWORD = "pw"  # tests.factories.UserFactory's

# Playwright waits at most this long for the page (a busy 2-core machine is slow, not broken).
expect.set_options(timeout=15_000)


def built_assets() -> list[str]:
    """The script and stylesheet URLs that frontend/dist/index.html loads."""
    html = DIST_INDEX.read_text(encoding="utf-8")
    return re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"', html)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium "
            "(`make browser-deps` installs it; never `playwright install`)",
            pytrace=False,
        )
    if not DIST_INDEX.exists():
        pytest.fail("frontend/dist/index.html is missing: run make frontend", pytrace=False)
    # While Playwright's sync API is started it keeps an asyncio loop marked as running on this
    # thread, and Django then refuses ORM calls from the test body. Allowed only while the
    # browser is up, and restored afterwards, so the rest of the suite keeps Django's guard.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            launched = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
            try:
                yield launched
            finally:
                launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Traffic:
    """What the page did that a test should not have to look for: errors and broken loads."""

    page_errors: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    static_ok: set[str] = field(default_factory=set)
    urls: list[str] = field(default_factory=list)

    def on_response(self, response: Response) -> None:
        path = re.sub(r"^https?://[^/]+", "", response.url)
        self.urls.append(path)
        if path.startswith("/static/") and response.status == 200:
            self.static_ok.add(path)
        # API 4xx answers are part of some flows (a rejected import); static 4xx and any 5xx
        # never are.
        if response.status >= 500 or (path.startswith("/static/") and response.status >= 400):
            self.bad_responses.append(f"{response.status} {path}")

    def on_request_failed(self, request: Request) -> None:
        if (request.failure or "") != "net::ERR_ABORTED":  # cancelled by a navigation
            self.failed_requests.append(f"{request.failure} {request.url}")


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture
def page(browser: Browser, live_server: Any, traffic: Traffic) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    page = context.new_page()
    page.on("pageerror", lambda exc: traffic.page_errors.append(str(exc)))
    page.on("response", traffic.on_response)
    page.on("requestfailed", traffic.on_request_failed)
    try:
        yield page
    finally:
        context.close()
    assert not traffic.page_errors, f"uncaught errors in the page: {traffic.page_errors}"
    assert not traffic.bad_responses, f"failed responses: {traffic.bad_responses}"
    assert not traffic.failed_requests, f"failed requests: {traffic.failed_requests}"


@pytest.fixture
def login(page: Page, traffic: Traffic) -> Callable[..., None]:
    """Sign in through the real form at /accounts/login/ and land on `next` in the React app."""

    def do_login(user: Any, next_path: str = "/") -> None:
        page.goto(f"/accounts/login/?next={next_path}")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        # Enter submits the form: the keyboard-only test stays keyboard-only from here on.
        page.get_by_label("Password").press("Enter")
        page.wait_for_url(f"**{next_path}")
        expect(page.get_by_role("link", name="Assay", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        missing = [a for a in built_assets() if a not in traffic.static_ok]
        assert not missing, f"the built assets did not load from the live server: {missing}"
        # The stylesheet is applied, not just fetched: the top bar is laid out as a flex row.
        assert page.get_by_role("banner").evaluate("e => getComputedStyle(e).display") == "flex"

    return do_login
