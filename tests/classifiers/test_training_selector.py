"""labeling.quality.selectors: consensus first, the annotations' majority where there is none."""

from __future__ import annotations

from typing import Any

import pytest

from labeling.models import Consensus, Item
from labeling.quality.selectors import (
    MAJORITY_FALLBACK,
    choice_dimensions,
    labeled_item_ids,
    labeled_items,
    positive_values,
)
from tests.labeling.factories_extra import campaign_with_items, make_user, submitted

pytestmark = pytest.mark.django_db


def annotate(item: Item, values: dict[str, Any]) -> None:
    submitted(item, make_user(), values)


def test_consensus_wins_and_majority_fills_in(django_assert_num_queries: Any) -> None:
    campaign = campaign_with_items(4)
    a, b, c, d = Item.objects.filter(campaign=campaign).order_by("id")
    Consensus.objects.create(
        campaign=campaign,
        item=a,
        dimension="harm",
        value="unsafe",
        confidence=0.8,
        method="dawid_skene",
        n_labels=3,
    )
    annotate(a, {"harm": "safe"})  # the consensus, not this vote, is a's label
    for v in ("unsafe", "unsafe", "safe"):
        annotate(b, {"harm": v})
    annotate(c, {"harm": "safe"})
    annotate(c, {"harm": "unsafe"})  # a tie: no label
    annotate(d, {"bias": "none"})  # no harm value at all
    with django_assert_num_queries(2):
        rows = labeled_items(campaign=campaign, dimension="harm")
    assert [(r.item_id, r.value, r.source) for r in rows] == [
        (a.pk, "unsafe", "dawid_skene"),
        (b.pk, "unsafe", MAJORITY_FALLBACK),
    ]
    assert rows[0].confidence == 0.8 and rows[1].confidence == pytest.approx(2 / 3)
    assert rows[1].text == b.text
    assert labeled_item_ids(campaign=campaign, dimension="harm") == {a.pk, b.pk}


def test_rubric_reads() -> None:
    campaign = campaign_with_items(0)
    dims = choice_dimensions(campaign)
    assert dims["harm"] == ["safe", "unsafe"] and "bias_target" not in dims  # multi_choice
    assert positive_values(campaign, "harm") == ["unsafe"]
    assert positive_values(campaign, "hazard") == []
