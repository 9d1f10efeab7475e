"""Gold items: marking, scoring annotators' answers against them, and pausing on low accuracy.

Gold items sit outside the open-slot queue (open_slots = 0): `next` mixes them into every
annotator's queue at the campaign's gold rate, and nothing an annotator sees tells them apart.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, F, IntegerField, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from core.errors import DomainError
from labeling.models import (
    Annotation,
    Assignment,
    Campaign,
    Consensus,
    GoldAnswer,
    Item,
    Membership,
)
from labeling.quality.consensus import consensus_vote_item
from labeling.quality.stats.gold import gold_score
from labeling.rubric import validate_values
from labeling.scores.refresh import score_summary_request

TRUTH_METHODS = (Consensus.Method.GOLD, Consensus.Method.ADJUDICATED)


def gold_answer_record(
    *, annotation: Annotation, item: Item, campaign: Campaign, now: datetime
) -> GoldAnswer:
    """Score a submitted answer on a gold item; pause the annotator if their accuracy sank."""
    correct, score = gold_score(campaign.rubric.schema, annotation.values, item.gold_values or {})
    answer = GoldAnswer.objects.create(
        campaign=campaign,
        item_id=item.pk,
        annotator_id=annotation.annotator_id,
        annotation=annotation,
        correct=correct,
        score=score,
    )
    if not correct:
        _pause_if_below(campaign, annotation.annotator_id, now)
    return answer


def gold_accuracy(campaign: Campaign, annotator_id: int) -> tuple[int, int]:
    """(gold answers, correct ones) of one annotator in one campaign."""
    agg = GoldAnswer.objects.filter(campaign=campaign, annotator_id=annotator_id).aggregate(
        n=Count("id"), right=Sum(Cast("correct", IntegerField()))
    )
    return agg["n"] or 0, agg["right"] or 0


def _pause_if_below(campaign: Campaign, annotator_id: int, now: datetime) -> None:
    # Only a wrong answer can lower the accuracy, so a right one never needs this check.
    n, right = gold_accuracy(campaign, annotator_id)
    if n < campaign.gold_min_answers or right / n >= campaign.gold_min_accuracy:
        return
    reason = (
        f"gold accuracy {right / n:.0%} ({right} of {n} gold items right) is under the "
        f"campaign's minimum of {campaign.gold_min_accuracy:.0%}"
    )
    Membership.objects.filter(
        campaign=campaign, user_id=annotator_id, paused_at__isnull=True
    ).update(paused_at=now, pause_reason=reason)


def membership_resume(*, campaign: Campaign, user_id: int) -> Membership:
    """An admin lets a paused annotator label again (their past gold answers still count).

    The scores are refreshed: the noise-corrected harm rate leaves paused annotators' answers
    out, so a resume brings theirs back in.
    """
    membership = Membership.objects.filter(campaign=campaign, user_id=user_id).first()
    if membership is None:
        raise DomainError("no such member of this campaign", status_code=404, code="not_found")
    was_paused = membership.paused_at is not None
    membership.paused_at = None
    membership.pause_reason = ""
    membership.save(update_fields=["paused_at", "pause_reason"])
    if was_paused:
        score_summary_request(campaign_id=campaign.pk)
    return membership


def _clean_gold_values(campaign: Campaign, item: Item, values: Any) -> dict[str, Any]:
    """Gold may give only some dimensions: validate as if none were required."""
    schema = copy.deepcopy(campaign.rubric.schema)
    for dim in schema["dimensions"]:
        dim["required"] = False
    cleaned = validate_values(schema, values, item.text)
    dims = {d["name"]: d for d in schema["dimensions"]}
    cleaned = {k: v for k, v in cleaned.items() if dims[k]["type"] != "text"}
    # An empty span list is an expected value too ("no harmful span here"), not a missing one.
    for name, value in values.items():
        if value == [] and name in dims and dims[name]["type"] == "spans":
            cleaned[name] = []
    if not cleaned:
        raise DomainError("gold needs at least one expected value", field="gold_values")
    return cleaned


def _gold_consensus(campaign: Campaign, item: Item, values: dict[str, Any], now: datetime) -> None:
    rows = [
        Consensus(
            campaign=campaign,
            item=item,
            dimension=name,
            value=value,
            confidence=1.0,
            posterior=None,
            method=Consensus.Method.GOLD,
            n_labels=0,
            updated_at=now,
        )
        for name, value in values.items()
    ]
    Consensus.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["item", "dimension"],
        update_fields=["value", "confidence", "posterior", "method", "n_labels", "updated_at"],
    )


def item_mark_gold(*, campaign: Campaign, item_id: int, gold_values: Any) -> Item:
    now = timezone.now()
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(campaign=campaign, pk=item_id).first()
        if item is None:
            raise DomainError("no such item in this campaign", status_code=404, code="not_found")
        cleaned = _clean_gold_values(campaign, item, gold_values)
        item.is_gold, item.gold_values, item.open_slots = True, cleaned, 0
        item.save(update_fields=["is_gold", "gold_values", "open_slots"])
        Consensus.objects.filter(item=item).exclude(dimension__in=list(cleaned)).filter(
            method=Consensus.Method.GOLD
        ).delete()
        _gold_consensus(campaign, item, cleaned, now)
    return item


def item_unmark_gold(*, campaign: Campaign, item_id: int) -> Item:
    """Back to the normal queue; answers scored against this gold no longer count."""
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(campaign=campaign, pk=item_id).first()
        if item is None:
            raise DomainError("no such item in this campaign", status_code=404, code="not_found")
        if not item.is_gold:
            return item
        live = Assignment.objects.filter(item=item, status=Assignment.Status.ACTIVE).count()
        item.is_gold, item.gold_values = False, None
        item.open_slots = max(campaign.overlap - item.n_submitted - live, 0)
        item.save(update_fields=["is_gold", "gold_values", "open_slots"])
        GoldAnswer.objects.filter(item=item).delete()
        Consensus.objects.filter(item=item, method=Consensus.Method.GOLD).delete()
        consensus_vote_item(item=item, campaign=campaign)
    return item


def gold_promote_unanimous(
    *, campaign: Campaign, min_labels: int = 3, limit: int = 50
) -> list[int]:
    """Mark as gold items whose annotators all agreed on every categorical dimension."""
    if not 2 <= min_labels <= 50 or not 1 <= limit <= 1000:
        raise DomainError("min_labels must be 2..50 and limit 1..1000", field="min_labels")
    categorical = [
        d["name"]
        for d in campaign.rubric.schema["dimensions"]
        if d["type"] in ("choice", "multi_choice")
    ]
    candidates = (
        Consensus.objects.filter(campaign=campaign, item__is_gold=False, dimension__in=categorical)
        .exclude(method__in=TRUTH_METHODS)
        .values("item_id")
        .annotate(
            n=Count("id"),
            unanimous=Count("id", filter=Q(confidence__gte=1.0, n_labels__gte=min_labels)),
        )
        .filter(unanimous=F("n"))
        .order_by("item_id")
        .values_list("item_id", flat=True)[:limit]
    )
    promoted = []
    for item_id in list(candidates):
        values = _consensus_values(item_id, categorical)
        if values:
            item_mark_gold(campaign=campaign, item_id=item_id, gold_values=values)
            promoted.append(item_id)
    return promoted


def _consensus_values(item_id: int, dims: Iterable[str]) -> dict[str, Any]:
    return dict(
        Consensus.objects.filter(item_id=item_id, dimension__in=list(dims)).values_list(
            "dimension", "value"
        )
    )
