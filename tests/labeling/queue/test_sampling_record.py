"""The sampling record: every lease says how the queue picked its item and how likely that
order was; an item's first lease says how the item came to be labeled at all."""

from __future__ import annotations

from typing import Any

import pytest

from labeling.models import Assignment, Item, QueueStrategy
from labeling.queue.services import assignment_next
from tests.factories import valid_values
from tests.labeling.factories_extra import FAST_HASHERS, campaign_with_items, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _items(campaign: Any) -> list[Item]:
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    for item, key, priority in zip(items, [0.1, 0.5, 0.9], [0.2, 0.0, 0.8], strict=True):
        item.random_key, item.priority = key, priority
        item.save(update_fields=["random_key", "priority"])
    return items


@pytest.mark.parametrize(
    ("strategy", "share", "pick", "probability", "index"),
    [
        (QueueStrategy.RANDOM, 0.2, "random", 1.0, 0),
        (QueueStrategy.UNCERTAINTY, 0.0, "priority", 1.0, 2),
        (QueueStrategy.UNCERTAINTY, 1.0, "random", 1.0, 0),
    ],
)
def test_each_lease_records_its_pick(
    strategy: str, share: float, pick: str, probability: float, index: int
) -> None:
    campaign = campaign_with_items(3, queue_strategy=strategy, random_share=share)
    items = _items(campaign)
    lease = assignment_next(campaign=campaign, user=member(campaign))
    assert lease is not None and lease.item_id == items[index].pk
    stored = Assignment.objects.get(pk=lease.pk)
    assert (stored.pick, stored.pick_probability) == (pick, pytest.approx(probability))
    item = Item.objects.get(pk=lease.item_id)
    assert (item.first_pick, item.first_pick_probability) == (pick, pytest.approx(probability))


def test_the_item_keeps_its_first_pick_while_later_leases_record_their_own() -> None:
    campaign = campaign_with_items(
        3, queue_strategy=QueueStrategy.UNCERTAINTY, random_share=0.0, overlap=2
    )
    items = _items(campaign)
    first = assignment_next(campaign=campaign, user=member(campaign))
    assert first is not None and first.item_id == items[2].pk
    # The campaign turns to the random order: the next annotator finishes the started item
    # (fewest open slots first), and that lease says "random", but the item was chosen by
    # priority and stays so in the record.
    campaign.random_share = 1.0
    campaign.save(update_fields=["random_share"])
    second = assignment_next(campaign=campaign, user=member(campaign))
    assert second is not None and second.item_id == items[2].pk
    assert Assignment.objects.get(pk=second.pk).pick == "random"
    item = Item.objects.get(pk=items[2].pk)
    assert (item.first_pick, item.first_pick_probability) == ("priority", pytest.approx(1.0))


def test_gold_leases_record_gold_without_marking_the_item_chosen() -> None:
    campaign = campaign_with_items(3, gold_rate=1.0, overlap=1)
    items = _items(campaign)
    items[0].is_gold, items[0].gold_values, items[0].open_slots = True, valid_values(), 0
    items[0].save(update_fields=["is_gold", "gold_values", "open_slots"])
    lease = assignment_next(campaign=campaign, user=member(campaign))
    assert lease is not None and lease.item_id == items[0].pk
    stored = Assignment.objects.get(pk=lease.pk)
    assert (stored.pick, stored.pick_probability) == ("gold", pytest.approx(1.0))
    assert Item.objects.get(pk=items[0].pk).first_pick == ""
