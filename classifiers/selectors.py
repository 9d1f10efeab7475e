"""Reads of the classifier app: runs, versions, the active version's predictions, the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from classifiers.models import ClassifierVersion, Prediction, TrainingRun
from classifiers.spans import clean_spans
from labeling.models import Campaign, Consensus, Prompt
from labeling.quality.selectors import choice_dimensions

# Snapshot id lists can hold every labeled item: lists leave them out.
_SNAPSHOT_LISTS = ("train_item_ids", "calibration_item_ids", "eval_item_ids")


def runs_for_campaign(campaign: Campaign) -> QuerySet[TrainingRun]:
    return (
        TrainingRun.objects.filter(campaign=campaign)
        .select_related("version")
        .defer(*_SNAPSHOT_LISTS)
        .order_by("-id")
    )


def run_detail(run_id: int) -> TrainingRun | None:
    return TrainingRun.objects.select_related("version").filter(pk=run_id).first()


def versions_for_campaign(campaign: Campaign) -> QuerySet[ClassifierVersion]:
    return (
        ClassifierVersion.objects.filter(campaign=campaign)
        .select_related("run")
        .defer(*(f"run__{f}" for f in _SNAPSHOT_LISTS))
        .order_by("-id")
    )


def active_version(campaign: Campaign, target: str) -> ClassifierVersion | None:
    return (
        ClassifierVersion.objects.filter(campaign=campaign, target=target, is_active=True)
        .select_related("run")
        .defer(*(f"run__{f}" for f in _SNAPSHOT_LISTS))
        .first()
    )


def active_predictions(version: ClassifierVersion, *, is_admin: bool) -> QuerySet[Prediction]:
    """Most probably positive first; items of private (held-out) prompts for admins only."""
    qs = (
        Prediction.objects.filter(version=version)
        .select_related("item__prompt", "item__model")
        .only(
            "id",
            "label",
            "probabilities",
            "positive_probability",
            "priority",
            "item_id",
            "item__text",
            "item__prompt__split",
            "item__model__name",
        )
        .order_by("-positive_probability", "item_id")
    )
    return qs if is_admin else qs.filter(item__prompt__split=Prompt.Split.PUBLIC)


def run_is_in_progress(campaign: Campaign, target: str) -> bool:
    return TrainingRun.objects.filter(
        campaign=campaign,
        target=target,
        status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING],
    ).exists()


def primary_target(campaign: Campaign) -> str | None:
    """The dimension whose probability goes on items and steers the queue: harm, else the
    rubric's first choice dimension."""
    dims = choice_dimensions(campaign)
    if "harm" in dims:
        return "harm"
    return next(iter(dims), None)


@dataclass(frozen=True)
class SpanLabeledItem:
    item_id: int
    text: str
    spans: list[dict[str, Any]]  # {start, end, label}, code-point offsets
    confidence: float
    source: str  # the consensus method (char_vote, gold, adjudicated)


def span_dimensions(campaign: Campaign) -> dict[str, list[str]]:
    """Spans dimensions of the campaign's rubric: name -> span labels, in rubric order."""
    out: dict[str, list[str]] = {}
    for dim in campaign.rubric.schema.get("dimensions", []):
        if dim.get("type") == "spans":
            out[dim["name"]] = [str(o["value"]) for o in dim.get("labels", [])]
    return out


def span_labeled_items(*, campaign: Campaign, dimension: str) -> list[SpanLabeledItem]:
    """Every item with a consensus on the spans dimension (an empty list is a label too: "no
    harmful span here"), by item id, in one query."""
    rows = (
        Consensus.objects.filter(campaign=campaign, dimension=dimension)
        .order_by("item_id")
        .values_list("item_id", "item__text", "value", "confidence", "method")
    )
    return [
        SpanLabeledItem(item_id, text, clean_spans(value, len(text)), float(conf), method)
        for item_id, text, value, conf, method in rows
        if isinstance(value, list)
    ]


def span_labeled_item_ids(*, campaign: Campaign, dimension: str) -> set[int]:
    return set(
        Consensus.objects.filter(campaign=campaign, dimension=dimension).values_list(
            "item_id", flat=True
        )
    )


def version_for_user(version_id: int) -> ClassifierVersion | None:
    """A version with its run (the snapshot lists left out); access is the caller's check."""
    return (
        ClassifierVersion.objects.select_related("run")
        .defer(*(f"run__{f}" for f in _SNAPSHOT_LISTS))
        .filter(pk=version_id)
        .first()
    )
