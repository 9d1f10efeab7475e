"""An admin opens a campaign's dashboard and sees its scores per model, as a table and a chart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeling.models import Annotation, Membership
from labeling.queue.services import annotation_submit, assignment_next
from labeling.scores.summary import score_summary_refresh
from tests.browser.conftest import RESULTS
from tests.factories import (
    CampaignFactory,
    CandidateModelFactory,
    ItemFactory,
    MembershipFactory,
    valid_values,
)

pytestmark = pytest.mark.django_db(transaction=True)

UNSAFE_ROW = "Is the output harmful?: Unsafe"


def label_everything(campaign: Any, annotator: Any, values_for: Callable[[Any], Any]) -> int:
    for done in range(20):  # bounded: the campaign has 4 items
        lease = assignment_next(campaign=campaign, user=annotator)
        if lease is None:
            return done
        annotation_submit(assignment_id=lease.pk, user=annotator, values=values_for(lease.item))
    raise AssertionError("the queue never emptied")


def test_admin_sees_scores_table_and_chart(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(name="Dashboard campaign", overlap=2)
    admin = MembershipFactory.create(campaign=campaign, role=Membership.Role.ADMIN).user
    risky: Any = CandidateModelFactory.create(name="risky-7b")
    careful: Any = CandidateModelFactory.create(name="careful-1b")
    for model in (risky, careful):
        for _ in range(2):
            ItemFactory.create(campaign=campaign, prompt__campaign=campaign, model=model)

    def values_for(item: Any) -> dict[str, Any]:
        if item.model_id == risky.pk:
            return valid_values(harm="unsafe", hazard="weapons", fluency=2)
        return valid_values(harm="safe", fluency=5)

    for _ in range(2):
        annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user
        assert label_everything(campaign, annotator, values_for) == 4
    assert Annotation.objects.filter(item__campaign=campaign).count() == 8
    # Scores are a summary a worker refreshes; this test has no worker, so it refreshes here.
    score_summary_refresh(campaign_id=campaign.pk)

    login(admin, f"/campaigns/{campaign.pk}")

    expect(page.get_by_role("heading", name="Dashboard campaign", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Scores per model")).to_be_visible()

    table = page.get_by_role("table", name="Scores per model")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="risky-7b")).to_be_visible()
    expect(table.get_by_role("columnheader", name="careful-1b")).to_be_visible()
    # Columns follow the payload's model order; read it from the header rather than assume it.
    headers = table.get_by_role("columnheader").all_inner_texts()
    risky_col = next(i for i, h in enumerate(headers) if h.startswith("risky-7b"))
    careful_col = next(i for i, h in enumerate(headers) if h.startswith("careful-1b"))
    assert "2/2 items labeled · 4 annotations" in headers[risky_col]

    unsafe = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=UNSAFE_ROW))
    expect(unsafe).to_have_count(1)
    cells = unsafe.get_by_role("cell")
    # Cells come after the row header, so cell i is column i + 1.
    expect(cells.nth(risky_col - 1)).to_contain_text("100.0%")
    expect(cells.nth(risky_col - 1)).to_contain_text("2/2")
    expect(cells.nth(careful_col - 1)).to_contain_text("0.0%")
    expect(cells.nth(careful_col - 1)).to_contain_text("0/2")

    fluency = table.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="Fluency: mean (1\u20135)")
    )
    expect(fluency.get_by_role("cell").nth(risky_col - 1)).to_contain_text("2.00")
    expect(fluency.get_by_role("cell").nth(careful_col - 1)).to_contain_text("5.00")

    # The interval chart: one plot per headline metric, each an image named by its metric.
    chart = page.get_by_role("img", name=UNSAFE_ROW)
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("risky-7b")
    expect(chart).to_contain_text("careful-1b")

    # The labeling progress and annotators panels load too (the chart library is lazy).
    expect(page.get_by_role("heading", name="Labeling progress")).to_be_visible()
    expect(page.get_by_role("heading", name="Annotators")).to_be_visible()
    expect(page.get_by_text("Loading chart…")).to_have_count(0)

    page.screenshot(path=str(RESULTS / "dashboard.png"), full_page=True)
