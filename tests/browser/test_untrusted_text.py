"""Model outputs and prompts are untrusted text: markup in them renders as literal text, never as
elements, and a very long unbroken string does not break the layout. Campaign instructions are
Markdown, and go through the sanitizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from labeling.models import Membership
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
LINK = "[click](javascript:window.__xss=1)"
LONG = "W" * 5000  # no break opportunity at all
PAYLOADS = [SCRIPT, IMG, LINK]

OUTPUT = f"Here you go: {SCRIPT} then {IMG} and {LINK}\n{LONG}\nThe end."
PROMPT = f"Please repeat {SCRIPT} {IMG} {LINK} {LONG}"
INSTRUCTIONS = f"Rate **each** output.\n\n{SCRIPT}\n\n{IMG}\n\n{LINK}\n"

ACTIVE_ELEMENTS = "script, img, iframe, object, embed, svg, a[href^='javascript' i], [onerror]"

VIEWPORTS = [(1280, 800), (390, 844)]  # a laptop and a phone


def assert_inert(container: Locator, text: str) -> None:
    expect(container).to_be_visible()
    assert container.evaluate(f"el => el.querySelectorAll({ACTIVE_ELEMENTS!r}).length") == 0
    # Every character is there, as text.
    assert container.evaluate("el => el.textContent") == text
    for payload in PAYLOADS:
        expect(container).to_contain_text(payload)


def fits(page: Page, target: Locator) -> dict[str, Any]:
    return target.evaluate(
        """el => {
          const r = el.getBoundingClientRect();
          return {
            scrollWidth: document.scrollingElement.scrollWidth,
            innerWidth: window.innerWidth,
            innerHeight: window.innerHeight,
            left: r.left, right: r.right, top: r.top, bottom: r.bottom,
          };
        }"""
    )


def test_markup_in_outputs_and_prompts_renders_as_inert_text(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(name="Untrusted campaign", instructions=INSTRUCTIONS)
    ItemFactory.create(
        campaign=campaign, prompt__campaign=campaign, prompt__text=PROMPT, text=OUTPUT
    )
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user

    login(annotator, f"/campaigns/{campaign.pk}/label")
    output = page.get_by_role("document", name="Model output")
    prompt = page.get_by_role("region", name="Prompt").get_by_text("Please repeat")
    expect(output).to_be_visible()
    page.wait_for_load_state("networkidle")  # an injected <img> would have failed to load by now

    assert_inert(output, OUTPUT)
    assert_inert(prompt, PROMPT)
    assert page.evaluate("() => typeof window.__xss") == "undefined"

    # The instructions are Markdown: rendered, but stripped of scripts, handlers and js: links.
    instructions = page.locator("details", has=page.get_by_text("Instructions", exact=True))
    expect(instructions.locator("strong", has_text="each")).to_be_visible()
    assert (
        instructions.evaluate(
            "el => el.querySelectorAll(\"script, a[href^='javascript' i], [onerror]\").length"
        )
        == 0
    )
    expect(instructions.get_by_role("link", name="click")).to_have_count(0)

    submit = page.get_by_role("button", name="Submit")
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        if width < 700:  # one column: the questions come below the texts, as a user scrolls
            submit.scroll_into_view_if_needed()
        box = fits(page, submit)
        assert box["scrollWidth"] <= box["innerWidth"] + 1, (
            f"horizontal overflow at {width}px: {box}"
        )
        assert box["left"] >= 0 and box["right"] <= box["innerWidth"] + 1, (
            f"submit off-screen at {width}px: {box}"
        )
        assert box["top"] >= 0 and box["bottom"] <= box["innerHeight"] + 1, (
            f"submit off-screen at {width}px: {box}"
        )
        for container in (output, prompt):
            rect = fits(page, container)
            assert rect["right"] <= rect["innerWidth"] + 1, (
                f"text box wider than the page at {width}px: {rect}"
            )

    assert page.evaluate("() => typeof window.__xss") == "undefined"
