"""Quality-control and queue settings of a campaign, through the API."""

from __future__ import annotations

from typing import Any

import pytest

from labeling.campaigns.services import campaign_update
from labeling.models import Campaign, Item
from tests.labeling.factories_extra import campaign_with_items, make_user, member

pytestmark = pytest.mark.django_db

SETTINGS = {
    "consensus_method": "mace",
    "gold_min_accuracy": 0.75,
    "gold_min_answers": 8,
    "queue_strategy": "uncertainty",
    "random_share": 0.3,
    "retrain_every": 50,
}


def test_settings_are_set_at_creation_and_read_back(client_as: Any) -> None:
    staff = make_user(is_staff=True)
    r = client_as(staff).post("/api/campaigns/", {"name": "c", **SETTINGS}, format="json")
    assert r.status_code == 201, r.content
    body = client_as(staff).get(f"/api/campaigns/{r.json()['id']}/").json()
    assert {k: body[k] for k in SETTINGS} == SETTINGS


def test_settings_are_updated_by_campaign_admins_only(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    admin, annotator = member(campaign, "admin"), member(campaign)
    url = f"/api/campaigns/{campaign.pk}/"
    assert client_as(annotator).patch(url, SETTINGS, format="json").status_code == 403
    r = client_as(admin).patch(url, SETTINGS, format="json")
    assert r.status_code == 200, r.content
    campaign.refresh_from_db()
    assert {k: getattr(campaign, k) for k in SETTINGS} == SETTINGS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("consensus_method", "vibes"),
        ("gold_min_accuracy", 1.5),
        ("gold_min_answers", 0),
        ("queue_strategy", "fifo"),
        ("random_share", -0.1),
        ("retrain_every", -1),
    ],
)
def test_bad_settings_name_the_field(client_as: Any, field: str, value: Any) -> None:
    campaign = campaign_with_items(1)
    before = {k: getattr(campaign, k) for k in SETTINGS}
    r = client_as(member(campaign, "admin")).patch(
        f"/api/campaigns/{campaign.pk}/", {field: value}, format="json"
    )
    assert r.status_code == 400
    assert field in r.json().get("errors", {}) or field in r.json()
    campaign.refresh_from_db()
    assert {k: getattr(campaign, k) for k in SETTINGS} == before


def test_changing_the_overlap_leaves_gold_outside_the_queue() -> None:
    campaign = campaign_with_items(2)
    gold = Item.objects.filter(campaign=campaign).first()
    assert gold is not None
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold_values={}, open_slots=0)
    campaign_update(campaign=Campaign.objects.get(pk=campaign.pk), data={"overlap": 5})
    assert Item.objects.get(pk=gold.pk).open_slots == 0
    assert Item.objects.exclude(pk=gold.pk).get().open_slots == 5
