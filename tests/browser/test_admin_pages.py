"""The admin pages as an admin meets them (issue 15 items 7-9, issue 11's wizard and jobs):
rubric labels and the live preview, model examples that stay in the page, styled filters,
export and members panels, cancelling a job, what the analytics wait for, and registering an
OpenAI-compatible model whose connection the admin tests against a real HTTP server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from generation.models import CandidateModel, GenerationJob
from labeling.models import Campaign, Membership, QualityState
from tests.factories import (
    CampaignFactory,
    CandidateModelFactory,
    ItemFactory,
    MembershipFactory,
    UserFactory,
)
from tests.generation.openai_server import FakeOpenAI, openai_server

pytestmark = pytest.mark.django_db(transaction=True)


def _admin_of(campaign: Campaign) -> Any:
    return MembershipFactory.create(campaign=campaign, role=Membership.Role.ADMIN).user


def test_rubric_editor_refuses_a_required_question_without_label_and_previews_live(
    page: Page, login: Callable[..., None]
) -> None:
    staff = UserFactory.create(is_staff=True)
    login(staff, "/campaigns/new")
    page.get_by_label("Campaign name").fill("Label check")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="2. Rubric")).to_be_visible()

    preview = page.get_by_test_id("rubric-preview")
    expect(preview.get_by_text("Is the output harmful?")).to_be_visible()
    # The preview is the annotator's view: answering "Unsafe" opens the conditional question.
    expect(preview.get_by_text("Hazard category")).to_have_count(0)
    preview.get_by_role("radio", name="Unsafe").check()
    expect(preview.get_by_text("Hazard category")).to_be_visible()

    label = page.get_by_label("Question shown to annotators").first
    label.fill("")
    expect(label).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("A required question needs a label").first).to_be_visible()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert").filter(has_text="no label")).to_be_visible()
    expect(page.get_by_role("heading", name="2. Rubric")).to_be_visible()  # not moved on

    label.fill("Could this output hurt someone?")
    expect(preview.get_by_text("Could this output hurt someone?")).to_be_visible()
    expect(label).not_to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="3. Overlap and leases")).to_be_visible()


def test_model_page_examples_wrap_inside_the_viewport(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(name="Wrap")
    admin = _admin_of(campaign)
    model: Any = CandidateModelFactory.create(name="long-talker")
    long_line = " ".join(f"word{i}" for i in range(700))  # ~6,000 characters, no newline
    unbroken = "x" * 3000  # and a run with no space at all
    ItemFactory.create(
        campaign=campaign, prompt__campaign=campaign, model=model, text=f"{long_line}\n{unbroken}"
    )
    login(admin, f"/models/{model.pk}")
    expect(page.get_by_role("heading", name="Example outputs")).to_be_visible()
    output = page.locator("pre.output-text").first
    expect(output).to_contain_text("word699")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide"
    box = output.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280
    assert output.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"


def test_leaderboard_and_review_filters_are_styled(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(name="Filters")
    admin = _admin_of(campaign)
    # Straight to the leaderboard: its styles must not depend on having visited an admin page.
    login(admin, "/leaderboard")
    # Found by their labels, so the check is about the styles, not about new markup.
    select = page.get_by_label("Dimension")
    expect(select).to_be_visible()
    bar = select.locator("xpath=..")
    assert bar.evaluate("e => getComputedStyle(e).display") == "flex"
    assert bar.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    assert select.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "6px"
    assert float(select.evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)")) >= 6
    # Filters sit on one row at 1280 px.
    select_box = select.bounding_box()
    campaign_box = page.get_by_label("Campaign").bounding_box()
    assert select_box is not None and campaign_box is not None
    assert abs(campaign_box["y"] - select_box["y"]) < 8
    expect(page.get_by_role("group", name="Leaderboard filters")).to_be_visible()

    page.goto(f"/campaigns/{campaign.pk}/review")
    review_select = page.get_by_label("Dimension")
    expect(review_select).to_be_visible()
    assert review_select.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "6px"
    review_bar = review_select.locator("xpath=../..")
    assert review_bar.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    expect(page.get_by_role("group", name="Review filters")).to_be_visible()


def test_dashboard_exports_and_manages_members(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(name="Export me")
    admin = _admin_of(campaign)
    UserFactory.create(username="real_annotator")
    login(admin, f"/campaigns/{campaign.pk}")

    export = page.get_by_role("region", name="Export labels")
    expect(export).to_be_visible()
    export.get_by_label("Format").select_option("csv")
    export.get_by_label("Include private (held-out) prompts").check()
    link = export.get_by_test_id("export-link")
    expect(link).to_have_attribute(
        "href", f"/api/campaigns/{campaign.pk}/export/?as=csv&include_private=1"
    )
    with page.expect_download() as download:
        link.click()
    header = Path(download.value.path()).read_text(encoding="utf-8").splitlines()[0]
    assert "item_id" in header and "consensus_harm" in header, header

    members = page.get_by_role("region", name="Members")
    members.get_by_label("Username").fill("nobody")
    members.get_by_role("button", name="Add member").click()
    error = members.get_by_text("no user named 'nobody'")
    expect(error).to_be_visible()
    expect(page.get_by_text("does not exist")).to_have_count(0)
    # The error is tied to its field.
    assert members.get_by_label("Username").get_attribute("aria-invalid") == "true"

    members.get_by_label("Username").fill("real_annotator")
    members.get_by_role("button", name="Add member").click()
    expect(members.get_by_role("cell", name="real_annotator")).to_be_visible()
    assert Membership.objects.filter(campaign=campaign, user__username="real_annotator").exists()


def test_import_hint_says_the_truth_about_private_prompts(
    page: Page, login: Callable[..., None]
) -> None:
    staff = UserFactory.create(is_staff=True)
    campaign: Any = CampaignFactory.create(name="Hint")
    MembershipFactory.create(campaign=campaign, user=staff, role=Membership.Role.ADMIN)
    login(staff, f"/campaigns/{campaign.pk}")
    page.goto(f"/campaigns/new?campaign={campaign.pk}&step=3")
    expect(page.get_by_text("left out of exports unless a campaign admin asks")).to_be_visible()
    expect(page.get_by_text("never exported")).to_have_count(0)


def test_admin_cancels_a_running_generation_job(page: Page, login: Callable[..., None]) -> None:
    campaign: Any = CampaignFactory.create(name="Cancel me", status=Campaign.Status.GENERATING)
    admin = _admin_of(campaign)
    model: Any = CandidateModelFactory.create(name="slow-model")
    now = timezone.now()
    job = GenerationJob.objects.create(
        campaign=campaign,
        model=model,
        params={"max_new_tokens": 32},
        params_hash="h1",
        status=GenerationJob.Status.RUNNING,
        done=10,
        total=40,
        items_per_s=0.5,
        chunks_total=4,
        chunks_done=1,
        attempts=1,
        heartbeat_at=now,
        started_at=now - timedelta(seconds=20),
    )
    login(admin, f"/campaigns/{campaign.pk}")
    row = page.get_by_role("listitem").filter(has_text="slow-model")
    expect(row.get_by_test_id(f"job-{job.pk}-eta")).to_contain_text("1 of 4 chunks done")
    expect(row.get_by_test_id(f"job-{job.pk}-eta")).to_contain_text("60 s left")
    row.get_by_role("button", name="Cancel job").click()
    dialog = row.get_by_role("alertdialog")
    expect(dialog).to_contain_text("10 stored outputs stay")
    dialog.get_by_role("button", name="Yes, cancel the job").click()
    expect(row.get_by_text("cancelled", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="Cancel job")).to_have_count(0)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.CANCELLED


def test_quality_page_says_what_it_waits_for_and_updates(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(name="Waiting")
    other: Any = CampaignFactory.create(name="Earlier")
    admin = _admin_of(campaign)
    now = timezone.now()
    QualityState.objects.create(
        campaign=other, refit_scheduled=True, refit_requested_at=now - timedelta(seconds=30)
    )
    state = QualityState.objects.create(
        campaign=campaign, refit_scheduled=True, refit_requested_at=now - timedelta(seconds=5)
    )
    login(admin, f"/campaigns/{campaign.pk}/quality")
    status = page.get_by_test_id("analytics-status")
    expect(status).to_contain_text("Consensus refit queued at")
    expect(status).to_contain_text("behind 1 earlier request")
    expect(status).to_contain_text("No consensus refit has run yet")
    expect(status).to_contain_text("updating every 3 s")

    # A worker finishes the refit: the page says so without a reload.
    state.refit_scheduled = False
    state.last_refit_at = timezone.now()
    state.last_refit_s = 1.25
    state.save()
    expect(status).to_contain_text("Last consensus refit at", timeout=15_000)
    expect(status).not_to_contain_text("queued at")
    expect(status).to_contain_text("took 1.3 s")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("ASSAY_TEST_SERVER_KEY", "sk-test-secret-123")
    with openai_server() as state:
        yield state


def test_admin_registers_an_openai_compatible_model_and_tests_the_connection(
    page: Page, login: Callable[..., None], served: FakeOpenAI
) -> None:
    staff = UserFactory.create(is_staff=True)
    campaign: Any = CampaignFactory.create(name="HTTP")
    MembershipFactory.create(campaign=campaign, user=staff, role=Membership.Role.ADMIN)
    login(staff, f"/campaigns/{campaign.pk}")
    page.goto(f"/campaigns/new?campaign={campaign.pk}&step=4")
    page.get_by_role("button", name="Register a model…").click()
    page.locator("label", has_text="OpenAI-compatible server").click()
    expect(page.get_by_label("OpenAI-compatible server")).to_be_checked()
    page.get_by_label("Name", exact=True).fill("served-smol")
    page.get_by_label("Base URL").fill(served.url)
    page.get_by_label("Model name on the server").fill("smol")
    key = page.get_by_label("API key: environment variable NAME")
    key.fill("sk-test-secret-123")  # the key itself: refused on the spot
    expect(key).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Register", exact=True)).to_be_disabled()
    key.fill("ASSAY_TEST_SERVER_KEY")
    page.get_by_label("Concurrent requests").fill("8")
    page.get_by_label("Requests / minute").fill("600")
    page.get_by_label("Timeout (s)").fill("20")
    page.get_by_label("Retries").fill("2")
    page.get_by_role("button", name="Register", exact=True).click()

    model = page.get_by_role("listitem").filter(has_text="served-smol")
    expect(model).to_contain_text("OpenAI-compatible")
    expect(model.get_by_role("checkbox")).to_be_checked()
    stored = CandidateModel.objects.get(name="served-smol")
    assert (stored.backend, stored.api_model, stored.api_key_env) == (
        "openai",
        "smol",
        "ASSAY_TEST_SERVER_KEY",
    )
    assert (stored.max_concurrency, stored.requests_per_minute, stored.timeout_s) == (8, 600, 20)
    assert stored.max_retries == 2
    assert "sk-test-secret" not in json.dumps(
        {f.name: str(getattr(stored, f.name)) for f in CandidateModel._meta.fields}
    )

    model.get_by_role("button", name="Test connection to served-smol").click()
    result = page.get_by_test_id(f"conn-{stored.pk}")
    expect(result).to_contain_text("Connected")
    expect(result).to_contain_text("served/smol")
    sent = {k.lower(): v for k, v in served.requests[-1].headers.items()}
    assert sent.get("authorization") == "Bearer sk-test-secret-123"
    expect(page.get_by_text("sk-test-secret-123")).to_have_count(0)

    # The server goes away: the same button says why, in words.
    served.default.status = 503
    model.get_by_role("button", name="Test connection to served-smol").click()
    expect(result).to_contain_text("Connection failed")
