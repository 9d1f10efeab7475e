"""A staff user creates a campaign through the wizard at /campaigns/new and imports prompts:
a file with bad rows is refused with a per-row report (nothing stored), then a good file is taken.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeling.models import Campaign, Membership, Prompt
from labeling.rubric import DEFAULT_RUBRIC
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

BAD_FILE = "\n".join(
    [
        json.dumps({"text": "How do I bake sourdough bread?", "category": "cooking"}),
        json.dumps({"text": ""}),
        "this line is not JSON",
        json.dumps({"text": "What is two plus two?", "split": "secret"}),
        json.dumps({"text": "How do I bake sourdough bread?"}),
    ]
)
# (text, split, category) of each good row.
GOOD_ROWS = [
    ("How do I bake sourdough bread?", "public", "cooking"),
    ("Is it safe to mix bleach and ammonia?", "private", "chemistry"),
    ("Who wrote “Don Quixote”? ¿Quién?", "public", ""),
]
GOOD_FILE = "\n".join(
    json.dumps({"text": t, "split": s, **({"category": c} if c else {})}, ensure_ascii=False)
    for t, s, c in GOOD_ROWS
)


def upload(page: Page, name: str, content: str) -> None:
    page.get_by_label("JSONL or CSV file").set_input_files(
        {"name": name, "mimeType": "application/jsonl", "buffer": content.encode("utf-8")}
    )
    page.get_by_role("button", name="Import", exact=True).click()


def test_admin_creates_a_campaign_and_imports_prompts(
    page: Page, login: Callable[..., None]
) -> None:
    staff: Any = UserFactory.create(is_staff=True)
    login(staff, "/campaigns/new")

    expect(page.get_by_role("heading", name="New campaign", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="1. Name and instructions")).to_be_visible()
    # Next without a name stays on the step and says why.
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_text("Give the campaign a name.")).to_be_visible()
    page.get_by_label("Campaign name").fill("Safety sweep")
    page.get_by_role("textbox", name="Instructions for annotators (Markdown)").fill(
        "Rate **each** output."
    )
    page.get_by_role("button", name="Next", exact=True).click()

    expect(page.get_by_role("heading", name="2. Rubric")).to_be_visible()
    page.get_by_role("button", name="Next", exact=True).click()

    expect(page.get_by_role("heading", name="3. Overlap and leases")).to_be_visible()
    page.get_by_label("Overlap (annotators per item)").fill("2")
    page.get_by_role("button", name="Next", exact=True).click()

    expect(page.get_by_role("heading", name="4. Create and import prompts")).to_be_visible()
    expect(page.get_by_text("2 annotators per item · 30 minute leases")).to_be_visible()
    assert not Campaign.objects.exists()  # nothing is stored before "Create campaign"
    page.get_by_role("button", name="Create campaign").click()
    expect(
        page.get_by_text("Campaign “Safety sweep” is created (draft). It has 0 prompts.")
    ).to_be_visible()

    campaign = Campaign.objects.get()
    assert page.url.endswith(f"/campaigns/new?campaign={campaign.pk}&step=3")
    assert campaign.name == "Safety sweep"
    assert campaign.instructions == "Rate **each** output."
    assert campaign.overlap == 2
    assert campaign.lease_minutes == 30
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.created_by_id == staff.pk
    assert campaign.rubric.schema["dimensions"] == DEFAULT_RUBRIC["dimensions"]
    assert Membership.objects.get(campaign=campaign).user_id == staff.pk
    assert Membership.objects.get(campaign=campaign).role == Membership.Role.ADMIN

    # A file with four bad rows: all refused, each listed with its row, field and reason.
    upload(page, "prompts-bad.jsonl", BAD_FILE)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("4 bad row(s); nothing was imported")
    report = alert.get_by_role("table", name="4 bad rows")
    expect(report).to_be_visible()
    rows = report.get_by_role("row")
    expect(rows).to_have_count(5)  # the header and four rows
    expected = [
        ("2", "text", "missing or empty"),
        ("3", "(whole row)", "not valid JSON"),
        ("4", "split", "'secret' is not one of public, private"),
        ("5", "text", "duplicate of row 1"),
    ]
    for i, (row, field, reason) in enumerate(expected, start=1):
        cells = rows.nth(i).get_by_role("cell")
        expect(cells.nth(0)).to_have_text(row)
        expect(cells.nth(1)).to_have_text(field)
        expect(cells.nth(2)).to_contain_text(reason)
    assert not Prompt.objects.filter(campaign=campaign).exists()

    # The good file: taken whole, the report goes away, the campaign's count moves.
    upload(page, "prompts.jsonl", GOOD_FILE)
    expect(page.get_by_text("Imported 3 prompts.")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_text("It has 3 prompts (1 private).")).to_be_visible()

    stored = set(Prompt.objects.filter(campaign=campaign).values_list("text", "split", "category"))
    assert stored == set(GOOD_ROWS)
