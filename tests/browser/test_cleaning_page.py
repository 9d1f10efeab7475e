"""The cleaning page: thresholds move the preview's counts live, the report shows masked spans
highlighted as inert text, shards show their progress, and downloads are listed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from cleaning.models import CleaningJob, CleaningShard
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

XSS = '<img src=x onerror="window.__xss=1">'


def _job(owner: Any, **kw: Any) -> CleaningJob:
    return CleaningJob.objects.create(
        owner=owner,
        name=kw.pop("name", "corpus"),
        input_path="/nowhere/c.jsonl",
        input_format="jsonl",
        text_field="text",
        id_field="id",
        document_classifiers=[
            {"version": 1, "name": "harm-v1", "target": "harm", "threshold": 0.5, "positive": []}
        ],
        tagger={"version": 2, "name": "spans-v1", "threshold": 0.5},
        **kw,
    )


def test_preview_thresholds_report_and_untrusted_text(
    page: Page, login: Callable[..., None], tmp_path: Path
) -> None:
    staff = UserFactory.create(is_staff=True)
    text = f"you are a moron {XSS}"
    draft = _job(
        staff,
        status="draft",
        preview=[
            {"id": "a", "text": "fine text", "scores": {"harm-v1": 0.3}, "spans": []},
            {"id": "b", "text": "bad text", "scores": {"harm-v1": 0.7}, "spans": []},
            {
                "id": "c",
                "text": text,
                "scores": {"harm-v1": 0.1},
                "spans": [{"start": 10, "end": 15, "label": "toxic", "score": 0.6}],
            },
        ],
    )
    login(staff, f"/cleaning/{draft.pk}")
    counts = page.get_by_test_id("preview-counts")
    expect(counts).to_contain_text("1 removed, 1 masked, 1 kept")
    page.get_by_label("Remove when P(harm-v1) ≥").fill("0.8")
    expect(counts).to_contain_text("0 removed, 1 masked, 2 kept")
    page.get_by_label("Mask spans scored ≥").fill("0.7")
    expect(counts).to_contain_text("0 removed, 0 masked, 3 kept")
    page.get_by_label("Mask spans scored ≥").fill("0.5")
    expect(page.locator("mark", has_text="moron")).to_be_visible()
    assert page.evaluate("window.__xss") is None
    expect(page.get_by_text(XSS, exact=False).first).to_be_visible()

    out = tmp_path / "job"
    (out / "cleaned").mkdir(parents=True)
    (out / "cleaned" / "shard-00000.jsonl").write_text(json.dumps({"id": "a"}) + "\n")
    done = _job(
        staff,
        name="finished",
        status="succeeded",
        total_docs=3,
        shards_total=1,
        shards_done=1,
        output_dir=str(out),
        report={
            "counts": {"keep": 1, "mask": 1, "remove": 1},
            "removed_by": {"harm-v1": 1},
            "masked_spans_by_label": {"toxic": 1},
            "spans_by_label": {"toxic": 1},
            "doc_hist": {"harm-v1": [1] * 20},
            "span_hist": [0] * 19 + [1],
            "examples": {
                "mask": [
                    {
                        "id": "c",
                        "text": text,
                        "decision": "mask",
                        "scores": {"harm-v1": 0.1},
                        "spans": [
                            {"start": 10, "end": 15, "label": "toxic", "score": 0.6, "masked": True}
                        ],
                    }
                ]
            },
        },
    )
    CleaningShard.objects.create(job=done, index=0, start=0, end=3, done=3, status="succeeded")
    page.goto(f"/cleaning/{done.pk}")
    expect(page.get_by_test_id("report-counts")).to_contain_text("remove")
    expect(page.get_by_role("progressbar", name="Shard 0")).to_have_attribute("aria-valuenow", "3")
    report = page.get_by_role("region", name="Report")
    expect(report.locator("mark", has_text="moron")).to_be_visible()
    assert report.evaluate("el => el.querySelectorAll('img, script').length") == 0
    expect(page.get_by_role("link", name="cleaned/shard-00000.jsonl")).to_be_visible()
    assert page.evaluate("window.__xss") is None
