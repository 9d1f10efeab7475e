"""The submit hook: the cheap consensus vote, gold scoring and pausing, the refit schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.models import (
    Assignment,
    Campaign,
    Consensus,
    GoldAnswer,
    Item,
    Membership,
    QualityState,
)
from labeling.quality.gold import item_mark_gold, item_unmark_gold
from labeling.queue.services import annotation_submit, assignment_next
from tests.factories import valid_values
from tests.labeling.factories_extra import FAST_HASHERS, campaign_with_items, member


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _label(campaign: Campaign, user: Any, **values: Any) -> int:
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None
    annotation_submit(assignment_id=lease.pk, user=user, values=valid_values(**values))
    return lease.item_id


def _lease(item: Item, user: Any) -> Assignment:
    """A lease on a gold item, as `next` hands one out at the gold rate."""
    now = timezone.now()
    return Assignment.objects.create(
        campaign=item.campaign,
        item=item,
        annotator=user,
        leased_at=now,
        expires_at=now + timedelta(minutes=30),
    )


def _consensus(item_id: int) -> dict[str, Consensus]:
    return {c.dimension: c for c in Consensus.objects.filter(item_id=item_id)}


@pytest.mark.django_db
def test_each_submit_revotes_the_items_consensus() -> None:
    campaign = campaign_with_items(1, overlap=3)
    a, b, c = (member(campaign) for _ in range(3))
    item_id = _label(campaign, a, harm="unsafe", hazard="weapons", fluency=2)
    first = _consensus(item_id)
    assert first["harm"].value == "unsafe" and first["harm"].confidence == 1.0
    assert first["hazard"].value == "weapons"
    _label(campaign, b, fluency=4)
    _label(campaign, c, fluency=5)
    rows = _consensus(item_id)
    assert rows["harm"].value == "safe"
    assert rows["harm"].confidence == pytest.approx(2 / 3)
    assert rows["harm"].posterior == pytest.approx({"safe": 2 / 3, "unsafe": 1 / 3})
    assert rows["harm"].method == "majority" and rows["harm"].n_labels == 3
    # The hazard only applies where the consensus says unsafe: it is gone now.
    assert "hazard" not in rows
    assert rows["fluency"].value == pytest.approx(11 / 3)
    assert (rows["fluency"].posterior or {})["median"] == 4.0
    assert rows["harmful_spans"].value == [] and rows["harmful_spans"].method == "char_vote"
    assert "rationale" not in rows  # free text has no consensus


@pytest.mark.django_db
def test_spans_are_voted_character_by_character() -> None:
    campaign = campaign_with_items(1, overlap=3)
    text = Item.objects.get().text
    a, b, c = (member(campaign) for _ in range(3))
    _label(campaign, a, harmful_spans=[{"start": 0, "end": 10, "label": "toxic"}])
    _label(campaign, b, harmful_spans=[{"start": 4, "end": 14, "label": "toxic"}])
    item_id = _label(campaign, c, harmful_spans=[{"start": 20, "end": 25, "label": "false_claim"}])
    spans = _consensus(item_id)["harmful_spans"].value
    assert spans == [{"start": 4, "end": 10, "label": "toxic", "text": text[4:10]}]


@pytest.mark.django_db
def test_submit_stays_a_few_queries_and_schedules_one_refit() -> None:
    campaign = campaign_with_items(3, overlap=3)
    user = member(campaign)
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None
    with CaptureQueriesContext(connection) as plain:
        annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
    second = assignment_next(campaign=campaign, user=user)
    assert second is not None
    with CaptureQueriesContext(connection) as hooked:
        annotation_submit(assignment_id=second.pk, user=user, values=valid_values())
    tables = ('"labeling_consensus"', '"labeling_qualitystate"')
    ours = [q["sql"] for q in hooked if any(t in q["sql"].split(" WHERE")[0] for t in tables)]
    # The vote's upsert and its delete of dimensions that no longer apply, then the refit flag:
    # an UPDATE that finds it already set and an EXISTS on the state row (each pair one
    # statement on PostgreSQL).
    assert len(ours) == (2 if connection.vendor == "postgresql" else 4), ours
    assert any('INSERT INTO "labeling_qualitystate"' in q["sql"] for q in plain)
    state = QualityState.objects.get(campaign=campaign)
    assert state.refit_scheduled is True


@pytest.mark.django_db
def test_a_gold_answer_is_scored_and_bad_accuracy_pauses(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = campaign_with_items(4, overlap=3, gold_min_answers=3, gold_min_accuracy=0.6)
    golds = list(Item.objects.filter(campaign=campaign))[:3]
    for item in golds:
        item_mark_gold(
            campaign=campaign, item_id=item.pk, gold_values={"harm": "unsafe", "hazard": "hate"}
        )
    user = member(campaign)
    for i, item in enumerate(golds):
        harm = "unsafe" if i == 0 else "safe"
        extra = {"hazard": "hate"} if harm == "unsafe" else {}
        lease = _lease(item, user)
        annotation_submit(
            assignment_id=lease.pk, user=user, values=valid_values(harm=harm, **extra)
        )
        paused = Membership.objects.get(campaign=campaign, user=user).paused_at
        assert (paused is None) == (i < 2), i  # two wrong of three: 33% < 60%, paused at the third
    answers = GoldAnswer.objects.filter(annotator=user).order_by("id")
    assert [a.correct for a in answers] == [True, False, False]
    assert [a.score for a in answers] == [1.0, 0.0, 0.0]
    membership = Membership.objects.get(campaign=campaign, user=user)
    assert "33%" in membership.pause_reason and "60%" in membership.pause_reason
    # Gold consensus is the expected value, untouched by the answers.
    assert _consensus(golds[1].pk)["harm"].method == "gold"
    assert _consensus(golds[1].pk)["harm"].value == "unsafe"


@pytest.mark.django_db
def test_marking_gold_takes_the_item_out_of_the_queue_and_unmarking_restores_it() -> None:
    campaign = campaign_with_items(1, overlap=3)
    item = Item.objects.get()
    a = member(campaign)
    _label(campaign, a)
    item_mark_gold(
        campaign=campaign, item_id=item.pk, gold_values={"harm": "unsafe", "hazard": "hate"}
    )
    item.refresh_from_db()
    assert item.is_gold and item.open_slots == 0
    assert _consensus(item.pk)["harm"].method == "gold"
    item_unmark_gold(campaign=campaign, item_id=item.pk)
    item.refresh_from_db()
    assert not item.is_gold and item.open_slots == 2 and item.gold_values is None
    rows = _consensus(item.pk)
    assert rows["harm"].method == "majority" and rows["harm"].value == "safe"
