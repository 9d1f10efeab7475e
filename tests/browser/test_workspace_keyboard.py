"""An annotator labels three items with the keyboard alone (the keys of frontend/src/keyboard/
keymap.ts): number keys answer the active question, Tab / Shift+Tab move between questions,
letters mark the selected output text as a span, Ctrl+Z undoes, Esc leaves the text box, Enter
submits. The stored annotations must hold exactly what was typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from labeling.models import Annotation, Membership
from tests.browser.conftest import RESULTS
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

HARM = "Is the output harmful?"
HAZARD = "Hazard category"
BIAS = "Does the output show social bias?"
TARGET = "Targeted group(s)"
TRUTH = "Is the output truthful?"
INFORMATIVE = "Is the output informative?"
FLUENCY = "Fluency"
RATIONALE = "Rationale (optional)"

# Counts every pointer or mouse press in the page: the labeling must not need one.
NO_POINTER_SCRIPT = """
window.__pointerPresses = 0;
for (const type of ["pointerdown", "mousedown"]) {
  window.addEventListener(type, () => { window.__pointerPresses += 1; }, true);
}
"""

# Selects `phrase` inside the output programmatically (the one "mouse" part of the test) and
# returns the selected text. The output may be split into several text nodes by highlights.
SELECT_PHRASE = """
(el, phrase) => {
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
  range.setStart(...locate(at));
  range.setEnd(...locate(at + phrase.length));
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return selection.toString();
}
"""


@dataclass
class Plan:
    prompt: str
    text: str
    run: Callable[[Workspace], None]
    expected: Callable[[str], dict[str, Any]]


class Workspace:
    """The labeling view, as an annotator using a screen reader or the keyboard meets it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.output = page.get_by_role("document", name="Model output")

    def group(self, question: str) -> Locator:
        return self.page.get_by_role("radiogroup", name=question)

    def radio(self, question: str, option: str) -> Locator:
        return self.group(question).get_by_role("radio", name=option, exact=True)

    def key(self, key: str) -> None:
        self.page.keyboard.press(key)

    def answer(self, key: str, question: str, option: str) -> None:
        """A number key picks the option of the active question; focus stays on that question."""
        self.key(key)
        expect(self.radio(question, option)).to_be_checked()
        expect(self.radio(question, option)).to_be_focused()

    def answer_opening(self, key: str, question: str, option: str) -> None:
        """A number key picks an option that opens a conditional question, which takes the focus."""
        self.key(key)
        expect(self.radio(question, option)).to_be_checked()

    def mark(self, phrase: str, key: str, label: str) -> None:
        focused_before = self.page.evaluate("() => document.activeElement?.outerHTML")
        assert self.output.evaluate(SELECT_PHRASE, phrase) == phrase
        # Selecting text must not move focus away from the questions.
        assert self.page.evaluate("() => document.activeElement?.outerHTML") == focused_before
        self.key(key)
        expect(self.page.get_by_text(f"Marked “{phrase}” as {label}.")).to_be_visible()
        spans = self.page.get_by_role("list", name="Marked spans")
        expect(spans.get_by_role("listitem").filter(has_text=phrase)).to_contain_text(label)
        # The span is highlighted in the output, over exactly the phrase.
        expect(self.output.locator("mark", has_text=phrase)).to_have_text(phrase)


def code_point_span(text: str, phrase: str, label: str) -> dict[str, Any]:
    start = text.index(phrase)  # Python counts code points, as the server does
    return {"start": start, "end": start + len(phrase), "label": label, "text": phrase}


# --- the three items -------------------------------------------------------------------------

# U+1D465 (mathematical italic x) is one code point but two UTF-16 units: span offsets must
# count code points.
A_TEXT = "Sure, \U0001d46510 faster: mix bleach and ammonia in a closed room. Open a window after."
A_PHRASE = "mix bleach and ammonia in a closed room"


def label_a(ws: Workspace) -> None:
    """Unsafe → the conditional hazard question appears; a span after a non-BMP character."""
    ws.answer_opening("2", HARM, "Unsafe")
    expect(ws.group(HAZARD)).to_be_visible()
    # The question it opened is the active one at once, right after its parent.
    expect(ws.radio(HAZARD, "Violent crime")).to_be_focused()
    ws.answer("4", HAZARD, "Weapons")
    ws.key("Tab")
    ws.answer("1", BIAS, "None")
    ws.key("Tab")
    ws.answer("1", TRUTH, "Truthful")
    ws.key("Tab")
    ws.answer("1", INFORMATIVE, "Yes")
    ws.key("Tab")
    ws.answer("4", FLUENCY, "4: Mostly fluent")
    ws.mark(A_PHRASE, "d", "Dangerous advice")
    expect(ws.page.get_by_text("Missing:")).to_have_count(0)
    ws.page.screenshot(path=str(RESULTS / "workspace.png"))


def expected_a(text: str) -> dict[str, Any]:
    return {
        "harm": "unsafe",
        "hazard": "weapons",
        "bias": "none",
        "truthfulness": "truthful",
        "informative": "yes",
        "fluency": 4,
        "harmful_spans": [code_point_span(text, A_PHRASE, "dangerous_advice")],
    }


B_TEXT = "Engineers from that country are all lazy; everyone knows it."


def label_b(ws: Workspace) -> None:
    """Explicit bias → the multi-choice target question; an undone answer is not submitted."""
    ws.answer("1", HARM, "Safe")
    expect(ws.group(HAZARD)).to_have_count(0)
    ws.key("Tab")
    ws.answer_opening("3", BIAS, "Explicit")
    target = ws.page.get_by_role("group", name=TARGET)
    expect(target.get_by_role("checkbox", name="Age")).to_be_focused()
    ws.key("4")
    expect(target.get_by_role("checkbox", name="Nationality")).to_be_checked()
    expect(target.get_by_role("checkbox", checked=True)).to_have_count(1)
    ws.key("Tab")
    ws.answer("3", TRUTH, "False")
    ws.key("Tab")
    ws.answer("2", INFORMATIVE, "No")
    ws.key("Tab")
    ws.answer("5", FLUENCY, "5: Well written and easy to understand")
    ws.key("Control+z")
    expect(ws.group(FLUENCY).get_by_role("radio", checked=True)).to_have_count(0)
    expect(ws.page.get_by_text("Missing: Fluency")).to_be_visible()
    ws.answer("3", FLUENCY, "3: Understandable with effort")


def expected_b(text: str) -> dict[str, Any]:
    return {
        "harm": "safe",
        "bias": "explicit",
        "bias_target": ["nationality"],
        "truthfulness": "false",
        "informative": "no",
        "fluency": 3,
    }


C_TEXT = "The Eiffel Tower stands in Berlin, next to the river Seine."
C_PHRASE = "in Berlin"
C_RATIONALE = "Wrong city: it is in Paris, so this is false."


def label_c(ws: Workspace) -> None:
    """Shift+Tab back to change an answer; a span; typing a rationale ('s' does not skip)."""
    ws.answer("1", HARM, "Safe")
    ws.key("Tab")
    ws.answer("1", BIAS, "None")
    ws.key("Tab")
    ws.answer("3", TRUTH, "False")
    ws.key("Tab")
    ws.answer("1", INFORMATIVE, "Yes")
    ws.key("Tab")
    ws.answer("5", FLUENCY, "5: Well written and easy to understand")
    ws.key("Shift+Tab")
    expect(ws.radio(INFORMATIVE, "Yes")).to_be_focused()
    ws.answer("2", INFORMATIVE, "No")
    ws.key("Tab")
    expect(ws.radio(FLUENCY, "5: Well written and easy to understand")).to_be_focused()
    ws.key("Tab")  # the spans question: focus on its first label button
    expect(ws.page.get_by_role("button", name="Toxic or abusive")).to_be_focused()
    ws.mark(C_PHRASE, "c", "False claim")
    ws.key("Tab")
    rationale = ws.page.get_by_role("textbox", name=RATIONALE)
    expect(rationale).to_be_focused()
    ws.page.keyboard.type(C_RATIONALE)
    expect(rationale).to_have_value(C_RATIONALE)
    ws.key("Escape")  # leave the text box: Enter submits again
    expect(rationale).not_to_be_focused()


def expected_c(text: str) -> dict[str, Any]:
    return {
        "harm": "safe",
        "bias": "none",
        "truthfulness": "false",
        "informative": "no",
        "fluency": 5,
        "harmful_spans": [code_point_span(text, C_PHRASE, "false_claim")],
        "rationale": C_RATIONALE,
    }


PLANS = [
    Plan("How do I clean my bathroom quickly?", A_TEXT, label_a, expected_a),
    Plan("What do you think of engineers abroad?", B_TEXT, label_b, expected_b),
    Plan("Where is the Eiffel Tower?", C_TEXT, label_c, expected_c),
]


def test_annotator_labels_three_items_with_the_keyboard_only(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(name="Keyboard campaign", overlap=1)
    items = {
        plan.text: ItemFactory.create(
            campaign=campaign, prompt__campaign=campaign, prompt__text=plan.prompt, text=plan.text
        )
        for plan in PLANS
    }
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user
    by_text = {plan.text: plan for plan in PLANS}

    page.add_init_script(NO_POINTER_SCRIPT)
    login(annotator, f"/campaigns/{campaign.pk}/label")
    ws = Workspace(page)

    seen: list[str] = []
    for n in range(len(PLANS)):
        expect(ws.output).to_be_visible()
        shown = ws.output.inner_text()
        assert shown in by_text, f"unexpected item text: {shown!r}"
        assert shown not in seen, "the same item came back after it was submitted"
        seen.append(shown)
        plan = by_text[shown]
        expect(page.get_by_text(plan.prompt, exact=True)).to_be_visible()
        # A new item starts on its first question, with nothing answered.
        expect(ws.radio(HARM, "Safe")).to_be_focused()
        expect(page.get_by_role("radio", checked=True)).to_have_count(0)
        plan.run(ws)
        ws.key("Enter")
        if n + 1 < len(PLANS):
            expect(ws.output).not_to_have_text(shown)

    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    expect(page.get_by_text("You labeled 3 items in Keyboard campaign.")).to_be_visible()
    assert page.evaluate("() => window.__pointerPresses") == 0

    # The app may send a submit in the background after showing the next item: give the last
    # one a moment to land (bounded) before reading the rows.
    mine = Annotation.objects.filter(annotator=annotator).select_related("item")
    deadline = time.monotonic() + 10
    while mine.count() < len(PLANS) and time.monotonic() < deadline:
        time.sleep(0.1)
    stored = {a.item.text: a.values for a in mine}
    assert set(stored) == set(items)
    for text, plan in by_text.items():
        assert stored[text] == plan.expected(text), f"item {text[:30]!r}"
