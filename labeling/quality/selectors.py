"""Reads for quality control: the stored report joined with live member state, the review
queue (most disagreement first) and one item's labels side by side. Admin-only data."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from labeling.models import (
    Adjudication,
    Annotation,
    Campaign,
    Consensus,
    GoldAnswer,
    Item,
    Membership,
    QualityState,
)
from labeling.quality.consensus import refit_running

TRUTH = (Consensus.Method.GOLD, Consensus.Method.ADJUDICATED)


def _state(campaign: Campaign) -> QualityState:
    return QualityState.objects.filter(campaign=campaign).first() or QualityState(campaign=campaign)


def quality_overview(campaign: Campaign) -> dict[str, Any]:
    """The last report with each annotator's name and live pause state (three queries)."""
    state = _state(campaign)
    report = state.report or {}
    members = {
        m.user_id: m for m in Membership.objects.filter(campaign=campaign).select_related("user")
    }
    figures = {a["annotator_id"]: a for a in report.get("annotators", [])}
    annotators = []
    for user_id in sorted(set(figures) | {u for u, m in members.items() if m.role == "annotator"}):
        member = members.get(user_id)
        annotators.append(
            {
                **_empty_figures(user_id),
                **figures.get(user_id, {}),
                "username": member.user.get_username() if member else f"user {user_id}",
                "role": member.role if member else None,
                "paused_at": member.paused_at if member else None,
                "pause_reason": member.pause_reason if member else "",
            }
        )
    dimensions = [{"name": n, **d} for n, d in report.get("dimensions", {}).items()]
    return {
        "consensus_method": campaign.consensus_method,
        "refit_scheduled": state.refit_scheduled,
        "refit_running": refit_running(state, timezone.now()),
        "last_refit_at": state.last_refit_at,
        "last_refit_s": state.last_refit_s,
        "last_error": state.last_error,
        "report_at": state.report_at,
        "n_annotations": report.get("n_annotations", 0),
        "dimensions": dimensions,
        "annotators": annotators,
        "gold_items": Item.objects.filter(campaign=campaign, is_gold=True).count(),
    }


def _empty_figures(user_id: int) -> dict[str, Any]:
    return {
        "annotator_id": user_id,
        "n_labels": 0,
        "gold_answers": 0,
        "gold_correct": 0,
        "gold_accuracy": None,
        "agreement": None,
        "agreement_n": 0,
        "median_time_ms": None,
        "skipped": 0,
        "skip_rate": None,
        "confusion": {},
    }


def review_queue(
    campaign: Campaign, dimension: str, *, include_resolved: bool = False
) -> QuerySet[Consensus]:
    """Consensus rows of one dimension, least confident first (the most disagreement)."""
    qs = (
        Consensus.objects.filter(campaign=campaign, dimension=dimension, n_labels__gte=2)
        .select_related("item__prompt", "item__model")
        .only(
            "id",
            "item_id",
            "dimension",
            "value",
            "confidence",
            "method",
            "n_labels",
            "updated_at",
            "item__id",
            "item__text",
            "item__is_gold",
            "item__prompt__id",
            "item__prompt__text",
            "item__prompt__split",
            "item__prompt__category",
            "item__model__id",
            "item__model__name",
        )
        .order_by("confidence", "item_id")
    )
    if not include_resolved:
        qs = qs.exclude(method__in=TRUTH)
    return qs


def review_item(campaign: Campaign, item_id: int) -> dict[str, Any] | None:
    """One item with every annotation side by side, its consensus, adjudications and gold."""
    item = (
        Item.objects.select_related("prompt", "model").filter(campaign=campaign, pk=item_id).first()
    )
    if item is None:
        return None
    user_model = get_user_model()
    annotations = list(
        Annotation.objects.filter(item=item)
        .select_related("annotator")
        .only(
            "id",
            "values",
            "time_spent_ms",
            "created_at",
            "annotator__id",
            f"annotator__{user_model.USERNAME_FIELD}",
        )
        .order_by("id")
    )
    gold = dict(GoldAnswer.objects.filter(item=item).values_list("annotator_id", "correct"))
    return {
        "item": item,
        "annotations": [
            {
                "annotator_id": a.annotator_id,
                "username": a.annotator.get_username(),
                "values": a.values,
                "time_spent_ms": a.time_spent_ms,
                "created_at": a.created_at,
                "gold_correct": gold.get(a.annotator_id),
            }
            for a in annotations
        ],
        "consensus": list(Consensus.objects.filter(item=item).order_by("dimension")),
        "adjudications": list(
            Adjudication.objects.filter(item=item)
            .select_related("adjudicated_by")
            .order_by("dimension")
        ),
    }


MAJORITY_FALLBACK = "annotation_majority"


@dataclass(frozen=True)
class LabeledItem:
    item_id: int
    text: str
    value: str
    confidence: float  # the consensus posterior of `value`, or the share of agreeing annotators
    source: str  # the consensus method, or MAJORITY_FALLBACK


def choice_dimensions(campaign: Campaign) -> dict[str, list[str]]:
    """Choice dimensions of the campaign's rubric: name -> option values, in rubric order."""
    out: dict[str, list[str]] = {}
    for dim in campaign.rubric.schema.get("dimensions", []):
        if dim.get("type") == "choice":
            out[dim["name"]] = [str(o["value"]) for o in dim.get("options", [])]
    return out


def _majority(values: list[Any]) -> tuple[str, float] | None:
    labels = [v for v in values if isinstance(v, str)]
    if not labels:
        return None
    ranked = Counter(labels).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0], ranked[0][1] / len(labels)


def _labels(
    campaign: Campaign, dimension: str, *, with_text: bool
) -> dict[int, tuple[str, str, float, str]]:
    """item id -> (text, value, confidence, source); texts left empty unless asked for."""
    out: dict[int, tuple[str, str, float, str]] = {}
    text_field = "item__text" if with_text else "dimension"  # a cheap stand-in column
    rows = Consensus.objects.filter(campaign=campaign, dimension=dimension).values_list(
        "item_id", text_field, "value", "confidence", "method"
    )
    for item_id, text, value, confidence, method in rows:
        if isinstance(value, str):
            out[item_id] = (text if with_text else "", value, float(confidence), method)
    votes: dict[int, list[Any]] = defaultdict(list)
    texts: dict[int, str] = {}
    annotations = (
        Annotation.objects.filter(item__campaign=campaign)
        .exclude(item__consensus__dimension=dimension)
        .values_list("item_id", "item__text" if with_text else "item_id", "values")
    )
    for item_id, text, values in annotations:
        if isinstance(values, dict) and dimension in values:
            votes[item_id].append(values[dimension])
            texts[item_id] = text if with_text else ""
    for item_id, values_of_item in votes.items():
        found = _majority(values_of_item)
        if found is not None and item_id not in out:
            out[item_id] = (texts[item_id], found[0], found[1], MAJORITY_FALLBACK)
    return out


def labeled_items(*, campaign: Campaign, dimension: str) -> list[LabeledItem]:
    """Every item of the campaign with a label on `dimension`, by item id (two queries)."""
    found = _labels(campaign, dimension, with_text=True)
    return [LabeledItem(i, *found[i]) for i in sorted(found)]


def labeled_item_ids(*, campaign: Campaign, dimension: str) -> set[int]:
    """The ids of labeled_items, without reading the texts (two queries)."""
    return set(_labels(campaign, dimension, with_text=False))


def item_texts_in_batches(
    *, campaign: Campaign, batch_size: int = 512
) -> Iterator[list[tuple[int, str]]]:
    """(id, text) of every item of the campaign, gold included, in id order, a batch per query."""
    last = 0
    while True:
        batch = list(
            Item.objects.filter(campaign=campaign, id__gt=last)
            .order_by("id")
            .values_list("id", "text")[:batch_size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def positive_values(campaign: Campaign, dimension: str) -> list[str]:
    """The values the rubric names as the dimension's positive outcome (harm: unsafe)."""
    for dim in campaign.rubric.schema.get("dimensions", []):
        if dim.get("name") == dimension:
            return [str(v) for v in dim.get("positive", [])]
    return []
