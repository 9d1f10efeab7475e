"""The annotator's day (issue 15, items 1-6), in Chromium against the live server: honest
states while outputs are generated, a lost session that keeps the item, a keyboard flow with an
explicit active question and per-option hotkeys, a way back to earlier items, spans by word and
from the keyboard, and a layout that fits 1280x800 and a 390 px phone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from generation.models import GenerationJob
from labeling.models import Annotation, AnnotationRevision, Assignment, Campaign, Membership
from tests.browser.conftest import PASSWORD
from tests.factories import (
    CampaignFactory,
    CandidateModelFactory,
    ItemFactory,
    MembershipFactory,
    valid_values,
)

pytestmark = pytest.mark.django_db(transaction=True)

HARM = "Is the output harmful?"
HAZARD = "Hazard category"
BIAS = "Does the output show social bias?"
TARGET = "Targeted group(s)"
TRUTH = "Is the output truthful?"
INFORMATIVE = "Is the output informative?"
FLUENCY = "Fluency"

SELECT_PHRASE = """
(el, [phrase, from, to]) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let full = "";
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    nodes.push([n, full.length]);
    full += n.data;
  }
  const at = full.indexOf(phrase);
  if (at < 0) throw new Error("not in the output: " + phrase);
  const locate = (pos) => {
    for (const [n, start] of nodes) if (pos <= start + n.data.length) return [n, pos - start];
    throw new Error("offset past the output");
  };
  const range = document.createRange();
  range.setStart(...locate(at + from));
  range.setEnd(...locate(at + to));
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}
"""

FOCUSED_QUESTION = (
    "() => document.activeElement?.closest('[data-dimension]')?.dataset.dimension ?? null"
)
FOCUS_ON_BODY = "() => document.activeElement === document.body || document.activeElement === null"


def radio(page: Page, question: str, option: str) -> Locator:
    return page.get_by_role("radiogroup", name=question).get_by_role(
        "radio", name=option, exact=True
    )


def annotator_of(campaign: Any) -> Any:
    return MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user


def stored_values(user: Any, expected: int) -> dict[str, Any]:
    """Submits go out in the background: wait (bounded) for them, then the values by item text."""
    mine = Annotation.objects.filter(annotator=user).select_related("item")
    deadline = time.monotonic() + 10
    while mine.count() < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return {a.item.text: a.values for a in mine}


# --- 1. outputs still being generated --------------------------------------------------------


def test_a_generating_campaign_says_so_and_shows_items_as_they_arrive(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(name="Generating", status=Campaign.Status.GENERATING)
    model = CandidateModelFactory.create()
    GenerationJob.objects.create(
        campaign=campaign,
        model=model,
        params={},
        params_hash="h",
        status="running",
        done=3,
        total=10,
    )
    annotator = annotator_of(campaign)

    login(annotator, "/")
    card = page.get_by_role("listitem").filter(has_text="Generating")
    expect(card).to_contain_text("Outputs are being generated (3 of 10)")
    expect(card.get_by_role("link", name="Start labeling")).to_have_count(0)

    page.goto(f"/campaigns/{campaign.pk}/label")
    expect(page.get_by_role("heading", name="Outputs are being generated")).to_be_visible()
    expect(page.get_by_text("Outputs are being generated (3 of 10)")).to_be_visible()
    expect(page.get_by_role("heading", name="All done")).to_have_count(0)

    # An output arrives: the workspace shows it without a reload.
    ItemFactory.create(
        campaign=campaign, prompt__campaign=campaign, text="A freshly generated answer."
    )
    expect(page.get_by_role("document", name="Model output")).to_have_text(
        "A freshly generated answer.", timeout=20_000
    )


# --- 2. a lost session -----------------------------------------------------------------------


def test_a_lost_session_keeps_the_item_and_its_answers_and_comes_back_to_it(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(overlap=1)
    for n in range(3):
        ItemFactory.create(campaign=campaign, prompt__campaign=campaign, text=f"Output number {n}.")
    annotator = annotator_of(campaign)
    path = f"/campaigns/{campaign.pk}/label"
    login(annotator, path)
    output = page.get_by_role("document", name="Model output")
    expect(output).to_be_visible()
    first = output.inner_text()
    for key in ["1", "Tab", "1", "Tab", "1", "Tab", "1", "Tab", "4"]:
        page.keyboard.press(key)
    expect(page.get_by_role("button", name="Submit")).to_be_enabled()

    # Log out in another tab.
    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Log out").click()
    expect(other.get_by_role("heading", name="Logged out")).to_be_visible()
    other.close()

    page.keyboard.press("Enter")
    # Sent to sign in, not told they are no annotator; nothing was stored.
    page.wait_for_url("**/accounts/login/**")
    assert Annotation.objects.filter(annotator=annotator).count() == 0
    page.get_by_label("Username").fill(annotator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"**{path}")

    # The same item, with the answers given before the session ended.
    expect(output).to_have_text(first)
    expect(page.get_by_text("Restored your unsaved answers for this item.")).to_be_visible()
    expect(radio(page, HARM, "Safe")).to_be_checked()
    expect(radio(page, FLUENCY, "4: Mostly fluent")).to_be_checked()
    expect(page.get_by_text("You are not an annotator of this campaign")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(output).not_to_have_text(first)
    assert stored_values(annotator, 1) == {first: valid_values()}


# --- 3. the active question, clicks, and per-option hotkeys ----------------------------------


def test_hotkeys_and_clicks_keep_the_active_question_explicit(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(overlap=1)
    item = ItemFactory.create(campaign=campaign, prompt__campaign=campaign, text="Plain words.")
    annotator = annotator_of(campaign)
    login(annotator, f"/campaigns/{campaign.pk}/label")
    expect(radio(page, HARM, "Safe")).to_be_focused()
    keys = 0

    def press(key: str) -> None:
        nonlocal keys
        keys += 1
        page.keyboard.press(key)

    # w is "Unsafe" (the default rubric's hotkey): the hazard question opens and is active.
    press("w")
    expect(radio(page, HARM, "Unsafe")).to_be_checked()
    expect(radio(page, HAZARD, "Violent crime")).to_be_focused()
    press("4")
    expect(radio(page, HAZARD, "Weapons")).to_be_checked()

    # A click on the prompt text must not drop the focus to <body>: the active question keeps it.
    page.get_by_test_id("prompt-text").click()
    # The workspace restores focus just after the pointer is released: wait for it (bounded).
    page.wait_for_function(f"() => !({FOCUS_ON_BODY})()", timeout=5000)
    assert page.evaluate(FOCUSED_QUESTION) == "hazard"

    # A mouse answer that opens a question makes it the active one, right after its parent.
    page.get_by_role("radiogroup", name=BIAS).get_by_text("Subtle", exact=True).click()
    target = page.get_by_role("group", name=TARGET)
    expect(target.get_by_role("checkbox", name="Age")).to_be_focused()
    press("4")
    expect(target.get_by_role("checkbox", name="Nationality")).to_be_checked()

    # Hotkeys answer their own question from anywhere, and the next question becomes active.
    press("y")
    expect(radio(page, TRUTH, "Truthful")).to_be_checked()
    assert page.evaluate(FOCUSED_QUESTION) == "informative"
    press("j")
    expect(radio(page, INFORMATIVE, "Yes")).to_be_checked()
    assert page.evaluate(FOCUSED_QUESTION) == "fluency"
    press("4")
    expect(radio(page, FLUENCY, "4: Mostly fluent")).to_be_checked()
    press("Enter")
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    assert keys == 7  # w 4 (click) 4 y j 4 Enter
    assert stored_values(annotator, 1) == {
        item.text: valid_values(
            harm="unsafe", hazard="weapons", bias="subtle", bias_target=["nationality"]
        )
    }


# --- 4. a way back -----------------------------------------------------------------------------


def test_recent_items_edit_a_submission_and_undo_a_skip(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(overlap=1)
    for n in range(4):
        ItemFactory.create(campaign=campaign, prompt__campaign=campaign, text=f"Answer text {n}.")
    annotator = annotator_of(campaign)
    login(annotator, f"/campaigns/{campaign.pk}/label")
    output = page.get_by_role("document", name="Model output")

    def label_safe() -> str:
        expect(radio(page, HARM, "Safe")).to_be_focused()
        shown = output.inner_text()
        for key in ["q", "e", "y", "j", "4", "Enter"]:
            page.keyboard.press(key)
        expect(output).not_to_have_text(shown)
        return shown

    first = label_safe()

    # Skip, then undo it: the same item is back, and can be labeled.
    skipped = output.inner_text()
    page.keyboard.press("s")
    expect(output).not_to_have_text(skipped)
    page.get_by_test_id("skipped-notice").get_by_role("button", name="Undo skip").click()
    expect(output).to_have_text(skipped)
    assert Assignment.objects.get(annotator=annotator, item__text=skipped).status == "active"
    label_safe()

    # Skip with a reason.
    reasoned = output.inner_text()
    page.get_by_role("button", name="Skip with reason…").click()
    page.get_by_label("Why skip this item?").fill("Not in a language I read")
    page.get_by_label("Why skip this item?").press("Enter")
    expect(output).not_to_have_text(reasoned)

    # Correct the first answer from the recent items.
    page.get_by_role("button", name="Recent items").click()
    rows = page.locator(".history-row")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text=reasoned)).to_contain_text("(Not in a language I read)")
    rows.filter(has_text=first).get_by_role("button", name="Edit").click()
    expect(output).to_have_text(first)
    expect(radio(page, HARM, "Safe")).to_be_checked()
    page.keyboard.press("w")
    expect(radio(page, HAZARD, "Violent crime")).to_be_focused()
    page.keyboard.press("8")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved your changes")).to_be_visible()

    annotation = Annotation.objects.get(annotator=annotator, item__text=first)
    assert annotation.values == valid_values(harm="unsafe", hazard="specialized_advice")
    assert AnnotationRevision.objects.get(annotation=annotation).values == valid_values()
    skip = Assignment.objects.get(annotator=annotator, item__text=reasoned)
    assert (skip.status, skip.skip_reason) == ("skipped", "Not in a language I read")


# --- 5. spans by word, and from the keyboard ----------------------------------------------------

SPAN_TEXT = "It is approximately 10,000 feet tall, says a man."


def test_spans_snap_to_words_and_can_be_marked_from_the_keyboard(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(overlap=1)
    item = ItemFactory.create(campaign=campaign, prompt__campaign=campaign, text=SPAN_TEXT)
    annotator = annotator_of(campaign)
    login(annotator, f"/campaigns/{campaign.pk}/label")
    output = page.get_by_role("document", name="Model output")
    # Keys go to the workspace once it holds the focus (pressed earlier, they were lost and the
    # Tab below went elsewhere, now and then).
    expect(output).to_be_visible()
    page.wait_for_function(f"() => !({FOCUS_ON_BODY})()", timeout=5000)
    for key in ["q", "e", "y", "j", "4"]:
        page.keyboard.press(key)
    page.wait_for_function(f"() => ({FOCUSED_QUESTION})() === 'fluency'", timeout=5000)

    # A mouse selection that ends mid-number ("...approximately 10,") becomes whole words.
    assert output.evaluate(SELECT_PHRASE, ["approximately 10,000", 2, 17]) == "proximately 10,"
    page.keyboard.press("c")  # False claim
    spans = page.get_by_role("list", name="Marked spans")
    expect(spans.get_by_role("listitem")).to_contain_text("approximately 10,000")

    # From the keyboard: Tab to the spans question, → selects a word, Shift+→ extends, a marks.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Toxic or abusive")).to_be_focused()
    page.keyboard.press("ArrowRight")  # "It"
    page.keyboard.press("ArrowRight")  # "is"
    page.keyboard.press("Shift+ArrowRight")  # "is approximately"
    assert page.evaluate("() => window.getSelection().toString()") == "is approximately"
    page.keyboard.press("a")  # Toxic or abusive
    expect(spans.get_by_role("listitem")).to_have_count(2)
    # Enter on a focused label button would press it: on to the rationale, out of it, submit.
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    stored = stored_values(annotator, 1)[item.text]["harmful_spans"]
    # Code point offsets, as the rubric stores them.
    assert {(s["start"], s["end"], s["label"], s["text"]) for s in stored} == {
        (6, 26, "false_claim", "approximately 10,000"),
        (3, 19, "toxic", "is approximately"),
    }


# --- 6. layout ---------------------------------------------------------------------------------


def test_layout_fits_a_laptop_screen(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(overlap=1, instructions="Read **carefully**.\n\n" * 8)
    for n in range(2):
        ItemFactory.create(campaign=campaign, prompt__campaign=campaign, text=f"Output {n}.")
    annotator = annotator_of(campaign)
    path = f"/campaigns/{campaign.pk}/label"
    login(annotator, path)
    instructions = page.locator("details.instructions")
    expect(instructions).to_have_attribute("open", "")  # the first visit shows them

    # The 1-5 scale sits on one row.
    tops = (
        page.get_by_role("radiogroup", name=FLUENCY)
        .locator(".option")
        .evaluate_all("els => els.map(e => Math.round(e.getBoundingClientRect().top))")
    )
    assert len(tops) == 5 and len(set(tops)) == 1, tops

    # Walked to with the keyboard, the last question is not under the sticky submit bar.
    for key in ["q", "e", "y", "j", "4", "Tab", "Tab"]:
        page.keyboard.press(key)
    rationale = page.get_by_role("textbox", name="Rationale (optional)")
    expect(rationale).to_be_focused()
    box = rationale.bounding_box()
    bar = page.locator(".submit-bar").bounding_box()
    assert box and bar and box["y"] + box["height"] <= bar["y"] + 1, (box, bar)

    # The next visit starts with the instructions collapsed.
    page.goto(path)
    expect(page.get_by_role("document", name="Model output")).to_be_visible()
    expect(instructions).not_to_have_attribute("open", "")


def test_layout_on_a_touch_phone(browser: Browser, live_server: Any) -> None:
    campaign: Any = CampaignFactory.create(overlap=1, instructions="Short.")
    ItemFactory.create(
        campaign=campaign,
        prompt__campaign=campaign,
        prompt__text="What is the capital of France?",
        text="Paris is the capital of France. " * 20,
    )
    annotator = annotator_of(campaign)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
    )
    try:
        page = context.new_page()
        path = f"/campaigns/{campaign.pk}/label"
        page.goto(f"/accounts/login/?next={path}")
        page.get_by_label("Username").fill(annotator.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Password").press("Enter")
        page.wait_for_url(f"**{path}")
        expect(radio(page, HARM, "Safe")).to_be_focused()
        page.wait_for_timeout(300)
        # The page has not scrolled past the prompt to the first question.
        assert page.evaluate("() => window.scrollY") == 0
        prompt = page.get_by_test_id("prompt-text").bounding_box()
        assert prompt and 0 <= prompt["y"] < 844
        # No key badges on a touch screen.
        badges = page.locator(".workspace .kbd, .workspace kbd")
        assert badges.count() > 0
        assert badges.evaluate_all("els => els.every(e => getComputedStyle(e).display === 'none')")
    finally:
        context.close()
