"""Every page works under the Content-Security-Policy, and none asks another origin for anything
(the API docs pages used to load Google Fonts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from labeling.models import Membership
from tests.browser.conftest import Traffic
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_pages_run_under_the_csp_and_stay_on_this_origin(
    page: Page, login: Callable[..., None], live_server: Any, traffic: Traffic
) -> None:
    violations: list[str] = []
    elsewhere: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    def on_request(request: Request) -> None:
        if not request.url.startswith((live_server.url, "data:", "blob:")):
            elsewhere.append(request.url)

    page.on("console", on_console)
    page.on("request", on_request)

    campaign: Any = CampaignFactory.create(name="CSP campaign")
    ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
    staff: Any = UserFactory.create(is_staff=True, is_superuser=True)
    MembershipFactory.create(campaign=campaign, user=staff, role=Membership.Role.ADMIN)

    login(staff, f"/campaigns/{campaign.pk}")  # the sign-in form, then the React app
    expect(page.get_by_role("heading", name="CSP campaign")).to_be_visible()

    page.goto(f"/campaigns/{campaign.pk}/label")
    expect(page.get_by_role("button", name="Submit")).to_be_visible()

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Assay API")
    expect(page.locator(".opblock").first).to_be_visible()  # the init script ran

    page.goto("/api/redoc/")
    expect(page.get_by_role("heading", name="Assay API", level=1)).to_be_visible()
    page.get_by_placeholder("Search...").fill("campaign")  # search runs in a worker
    expect(page.locator("[role=search] li").first).to_be_visible()

    # ReDoc always renders the Redocly logo from its CDN (no option turns it off): the CSP
    # blocks it before any request leaves the browser, and ReDoc drops the broken image.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [v for v in violations if logo in v] and traffic.failed_requests == [f"csp {logo}"]
    violations[:], traffic.failed_requests[:] = [], []
    elsewhere.remove(logo)

    page.goto("/admin/")
    expect(page.get_by_role("link", name="Users")).to_be_visible()
    page.goto(f"/admin/auth/user/{staff.pk}/change/")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()

    assert not violations, violations
    assert not elsewhere, elsewhere
