"""An annotator with nothing left to label sees the empty-queue screen, not a spinner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from labeling.models import Membership
from labeling.queue.services import annotation_submit, assignment_next
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, valid_values

pytestmark = pytest.mark.django_db(transaction=True)


def test_annotator_with_nothing_left_sees_the_empty_queue(
    page: Page, login: Callable[..., None]
) -> None:
    campaign: Any = CampaignFactory.create(name="Finished campaign")
    ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user
    # The one item is already labeled by this annotator: nothing is left for them.
    lease = assignment_next(campaign=campaign, user=annotator)
    assert lease is not None
    annotation_submit(assignment_id=lease.pk, user=annotator, values=valid_values())

    login(annotator, f"/campaigns/{campaign.pk}/label")

    expect(page.get_by_role("heading", name="All done")).to_be_visible()
    expect(page.get_by_text("You labeled 1 item in Finished campaign.")).to_be_visible()
    expect(page.get_by_text("Nothing is left for you in this campaign.")).to_be_visible()
    expect(page.get_by_role("link", name="Back to my campaigns")).to_be_visible()
    expect(page.get_by_role("button", name="Check again")).to_be_enabled()
    # No item is shown: no output, no questions, no submit button.
    expect(page.get_by_role("document", name="Model output")).to_have_count(0)
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
