"""The campaign's quality report: agreement per dimension (overall and per prompt category),
pairwise kappa, and per-annotator figures. Built by the refit task and stored on QualityState.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Count, IntegerField, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from labeling.models import Annotation, Assignment, Campaign, Consensus, GoldAnswer, Item
from labeling.rubric import Dimension, dimension_applies

CATEGORY_MIN_UNITS = 10  # a category needs this many multiply-labeled items for its own alpha
CATEGORY_SAMPLES = 200  # bootstrap samples per category (the overall figure gets more)


def _units(dim: Dimension, rows: Sequence[tuple[int, int, dict[str, Any], Any]]) -> Any:
    """{item: [answers]} and {annotator: {item: answer}} for one dimension."""
    units: dict[int, list[Any]] = defaultdict(list)
    by_annotator: dict[int, dict[int, Any]] = defaultdict(dict)
    for item, who, values, _ in rows:
        if not dimension_applies(dim, values):
            continue
        if dim["type"] == "spans":
            answer = values.get(dim["name"]) or []
        elif dim["name"] in values:
            answer = values[dim["name"]]
        else:
            continue
        units[item].append(answer)
        by_annotator[who][item] = answer
    return units, by_annotator


def _dimension_report(
    dim: Dimension,
    rows: Sequence[tuple[int, int, dict[str, Any], Any]],
    categories: dict[int, str],
    texts: dict[int, str],
) -> dict[str, Any]:
    from labeling.quality.stats.agreement import alpha_for, pairwise_kappa

    units, by_annotator = _units(dim, rows)
    multi = {i: a for i, a in units.items() if len(a) >= 2}
    report = alpha_for(dim, multi, texts).as_dict()
    per_category: dict[str, dict[str, Any]] = {}
    grouped: dict[str, dict[int, Any]] = defaultdict(dict)
    for item, answers in multi.items():
        grouped[categories.get(item, "")][item] = answers
    for category, cat_units in sorted(grouped.items()):
        if len(cat_units) >= CATEGORY_MIN_UNITS:
            per_category[category] = alpha_for(
                dim, cat_units, texts, samples=CATEGORY_SAMPLES
            ).as_dict()
    report["by_category"] = per_category
    if dim["type"] == "choice":
        report["kappa"] = pairwise_kappa(by_annotator)
    return report


def _span_texts(campaign: Campaign, schema: dict[str, Any], rows: Any) -> dict[int, str]:
    from labeling.quality.stats.agreement import span_sample

    wanted: set[int] = set()
    for dim in schema["dimensions"]:
        if dim["type"] == "spans":
            units, _ = _units(dim, rows)
            wanted |= set(span_sample({i: a for i, a in units.items() if len(a) >= 2}))
    if not wanted:
        return {}
    return dict(Item.objects.filter(campaign=campaign, pk__in=wanted).values_list("id", "text"))


def _annotators(
    campaign: Campaign, rows: Any, confusion: dict[str, dict[int, Any]]
) -> list[dict[str, Any]]:
    from labeling.quality.stats.annotators import annotator_stats

    schema = campaign.rubric.schema
    categorical = [d["name"] for d in schema["dimensions"] if d["type"] == "choice"]
    consensus = {
        (i, d): v
        for i, d, v in Consensus.objects.filter(
            campaign=campaign, dimension__in=categorical
        ).values_list("item_id", "dimension", "value")
    }
    gold = {
        who: (n, right or 0)
        for who, n, right in GoldAnswer.objects.filter(campaign=campaign)
        .values("annotator_id")
        .annotate(n=Count("id"), right=Sum(Cast("correct", IntegerField())))
        .values_list("annotator_id", "n", "right")
    }
    finished = {
        who: (sub, skip)
        for who, sub, skip in Assignment.objects.filter(campaign=campaign)
        .values("annotator_id")
        .annotate(
            sub=Count("id", filter=Q(status=Assignment.Status.SUBMITTED)),
            skip=Count("id", filter=Q(status=Assignment.Status.SKIPPED)),
        )
        .values_list("annotator_id", "sub", "skip")
    }
    stats = annotator_stats(rows, consensus, categorical, gold, finished, confusion)
    return [s.as_dict() for s in stats]


def quality_report_build(campaign: Campaign, fit: dict[str, Any]) -> dict[str, Any]:
    """The whole report as plain JSON; `fit` is the refit's per-dimension method and confusion."""
    schema = campaign.rubric.schema
    rows = list(
        Annotation.objects.filter(item__campaign=campaign)
        .order_by()
        .values_list("item_id", "annotator_id", "values", "time_spent_ms")
    )
    categories = dict(Item.objects.filter(campaign=campaign).values_list("id", "prompt__category"))
    texts = _span_texts(campaign, schema, rows)
    dimensions = {}
    for dim in schema["dimensions"]:
        if dim["type"] == "text":
            continue
        dimensions[dim["name"]] = {
            "type": dim["type"],
            "fit_method": fit.get(dim["name"], {}).get("method"),
            **_dimension_report(dim, rows, categories, texts),
        }
    confusion = {d: f["confusion"] for d, f in fit.items() if f.get("confusion")}
    return {
        "computed_at": timezone.now().isoformat(),
        "n_annotations": len(rows),
        "dimensions": dimensions,
        "annotators": _annotators(campaign, rows, confusion),
    }
