"""Care for the people who read harmful text, in the browser: the content warning on the first
visit (with opting out of hazard categories), blurred outputs revealed by V or a click and
blurred again on the next item, the blur preference, the break reminder, the day's limit, and
the admin's exposure table and care settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from labeling.care.selectors import today
from labeling.models import (
    AnnotatorCare,
    Campaign,
    CarePreference,
    DailyExposure,
    Membership,
)
from labeling.queue.services import annotation_submit, assignment_next
from tests.factories import (
    CampaignFactory,
    ItemFactory,
    MembershipFactory,
    PromptFactory,
    valid_values,
)

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERS = [
    ("Is the output harmful?", "Safe"),
    ("Does the output show social bias?", "None"),
    ("Is the output truthful?", "Truthful"),
    ("Is the output informative?", "Yes"),
    ("Fluency", "4: Mostly fluent"),
]


def answer_and_submit(page: Page) -> None:
    """Answer the default rubric with the mouse and submit (keyboard flows are tested elsewhere)."""
    for question, option in ANSWERS:
        radio = page.get_by_role("radiogroup", name=question).get_by_role(
            "radio", name=option, exact=True
        )
        radio.check()
        expect(radio).to_be_checked()
    page.get_by_role("button", name="Submit").click()


def output(page: Page) -> Locator:
    return page.get_by_test_id("care-blur")


def expect_blurred(page: Page, blurred: bool) -> None:
    gate = output(page)
    expect(gate).to_have_attribute("data-blurred", "true" if blurred else "false")
    content = gate.locator(".care-blur-content")
    if blurred:
        expect(content).to_have_css("filter", "blur(9px)")
        expect(page.get_by_role("button", name="Reveal output")).to_be_visible()
        # Inert: the text is not exposed to the accessibility tree while blurred.
        expect(page.get_by_role("document", name="Model output")).to_have_count(0)
    else:
        expect(content).to_have_css("filter", "none")
        expect(page.get_by_role("document", name="Model output")).to_be_visible()


def test_content_warning_once_with_opt_outs(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(
        name="Hate speech sweep",
        content_warning="This campaign contains **hate speech** and slurs.\n\n"
        "<img src=x onerror=\"document.title='owned'\"> <script>window.owned=1</script>",
        hazard_categories=["self-harm", "hate"],
    )
    ItemFactory.create(
        campaign=campaign,
        prompt=PromptFactory.create(campaign=campaign, category="self-harm"),
        text="An output about self-harm.",
    )
    ItemFactory.create(
        campaign=campaign,
        prompt=PromptFactory.create(campaign=campaign, category="weapons"),
        text="An output about weapons.",
    )
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user

    login(annotator, f"/campaigns/{campaign.pk}/label")
    expect(page.get_by_role("heading", name="Content warning")).to_be_visible()
    # The admin's Markdown is rendered, through the sanitizer.
    expect(page.locator(".care-warning-body strong")).to_have_text("hate speech")
    assert page.evaluate("() => window.owned") is None
    assert page.title() != "owned"
    # No item is shown before the warning is acknowledged.
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)

    page.get_by_role("checkbox", name="self-harm").check()
    page.get_by_role("button", name="I understand, continue").click()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    expect(page.get_by_test_id("output-text")).to_have_text("An output about weapons.")
    care = AnnotatorCare.objects.get(campaign=campaign, user=annotator)
    assert care.warning_acknowledged_at is not None
    assert care.hazard_opt_outs == ["self-harm"]

    # Once per annotator: a reload goes straight to the item.
    page.reload()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    expect(page.get_by_role("heading", name="Content warning")).to_have_count(0)
    answer_and_submit(page)
    # The self-harm item is never served to them.
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    expect(page.get_by_text("Nothing is left for you in this campaign.")).to_be_visible()


def test_blurred_until_revealed_and_again_on_the_next_item(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(
        name="Blurred", blur_outputs="likely_harmful", blur_threshold=0.5
    )
    for n in range(4):
        ItemFactory.create(
            campaign=campaign,
            prompt__campaign=campaign,
            text=f"Harmful output number {n}.",
            harm_probability=0.9,
        )
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user

    login(annotator, f"/campaigns/{campaign.pk}/label")
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    expect_blurred(page, True)
    # The list of keys names the reveal key in a campaign that blurs.
    page.keyboard.press("?")
    help_list = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_list.get_by_text("Reveal a blurred output")).to_be_visible()
    page.keyboard.press("Escape")
    expect(help_list).to_have_count(0)
    expect_blurred(page, True)
    page.keyboard.press("v")
    expect_blurred(page, False)
    expect(page.get_by_test_id("output-text")).to_contain_text("Harmful output number")

    answer_and_submit(page)
    # The next item starts blurred again; a click reveals it.
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    expect_blurred(page, True)
    page.get_by_role("button", name="Reveal output").click()
    expect_blurred(page, False)

    # The annotator turns blur off for themselves: stored on the server, and kept.
    page.get_by_text("Content settings").click()
    blur_box = page.get_by_role("checkbox", name="Blur outputs that may be harmful")
    expect(blur_box).to_be_checked()
    blur_box.uncheck()
    expect(blur_box).not_to_be_checked()
    answer_and_submit(page)
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    expect_blurred(page, False)
    assert CarePreference.objects.get(user=annotator).blur_outputs is False
    page.reload()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    expect_blurred(page, False)


def test_break_reminder_then_the_days_limit(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(
        name="Capped", break_every_minutes=30, daily_item_limit=3, lease_minutes=60
    )
    for _ in range(6):
        ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user
    # Earlier today they labeled one item for 31 minutes.
    lease = assignment_next(campaign=campaign, user=annotator)
    assert lease is not None
    annotation_submit(
        assignment_id=lease.pk, user=annotator, values=valid_values(), time_spent_ms=31 * 60_000
    )

    login(annotator, f"/campaigns/{campaign.pk}/label")
    expect(page.get_by_role("heading", name="Time for a break")).to_be_visible()
    expect(
        page.get_by_text("You have labeled for 31 minutes since your last break")
    ).to_be_visible()
    page.get_by_role("button", name="I took a break, continue").click()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    row = DailyExposure.objects.get(campaign=campaign, annotator=annotator)
    assert row.break_at_ms == row.time_ms == 31 * 60_000

    answer_and_submit(page)
    expect(page.get_by_role("button", name="Submit")).to_be_visible()
    answer_and_submit(page)
    # Three items today: the server leases no more, and says why.
    expect(page.get_by_role("heading", name="That is enough for today")).to_be_visible()
    expect(page.get_by_text("3 items, this campaign's limit of 3 a day")).to_be_visible()
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="That is enough for today")).to_be_visible()
    assert DailyExposure.objects.get(campaign=campaign, annotator=annotator).items == 3


def test_minute_limit_shows_the_break_screen(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(name="Timed", daily_minute_limit=60)
    ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user
    DailyExposure.objects.create(
        campaign=campaign,
        annotator=annotator,
        day=today(timezone.now()),
        items=40,
        time_ms=61 * 60_000,
    )
    login(annotator, f"/campaigns/{campaign.pk}/label")
    expect(page.get_by_role("heading", name="That is enough for today")).to_be_visible()
    expect(
        page.get_by_text("61 minutes of labeling, this campaign's limit of 60 minutes a day")
    ).to_be_visible()


def test_admin_sees_exposure_and_edits_care_settings(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(name="Admin care", daily_item_limit=10)
    ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
    admin = MembershipFactory.create(campaign=campaign, role=Membership.Role.ADMIN).user
    annotator = MembershipFactory.create(
        campaign=campaign, role=Membership.Role.ANNOTATOR, user__username="reader"
    ).user
    now = timezone.now()
    DailyExposure.objects.create(
        campaign=campaign, annotator=annotator, day=today(now), items=10, time_ms=45 * 60_000
    )
    DailyExposure.objects.create(
        campaign=campaign,
        annotator=annotator,
        day=today(now - timedelta(days=2)),
        items=7,
        time_ms=20 * 60_000,
    )

    login(admin, f"/campaigns/{campaign.pk}")
    table = page.get_by_role("table", name="Exposure per annotator")
    row = table.get_by_role("row").filter(has_text="reader")
    expect(row).to_contain_text("limit reached")
    cells = row.get_by_role("cell")
    expect(cells).to_have_text(["10", "45", "17", "65", "2"])
    expect(table.get_by_role("columnheader", name="Items today / 10")).to_be_visible()

    form = page.get_by_role("form", name="Care for annotators")
    form.get_by_label("Blur outputs", exact=True).select_option("all")
    form.get_by_label("Minutes per annotator per day").fill("90")
    categories = form.get_by_label("Hazard categories annotators may opt out of (one per line)")
    categories.fill("self-harm\nhate\nself-harm")
    form.get_by_role("button", name="Save care settings").click()
    expect(form.get_by_text("a category is listed twice")).to_be_visible()
    assert Campaign.objects.get(pk=campaign.pk).blur_outputs == "off"  # nothing half-written

    categories.fill("self-harm\nhate")
    form.get_by_role("button", name="Save care settings").click()
    expect(form.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    saved = Campaign.objects.get(pk=campaign.pk)
    assert saved.blur_outputs == "all"
    assert saved.daily_minute_limit == 90
    assert saved.hazard_categories == ["self-harm", "hate"]
