"""Per-model scores with 95% intervals.

Each item gets one label per dimension from its submitted annotations (majority vote, ties
counted toward the rubric's `positive` values so that a split vote on harm is not hidden);
rates are over labeled items with Wilson intervals, Likert means are means of item means with
a bootstrap over prompts (several samples of one prompt move together).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from labeling.models import Annotation, Campaign, Item

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 2000


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At the edges the exact bound is 0 or 1; floating point would put it a hair inside.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def bootstrap_mean_over_prompts(
    values_by_prompt: dict[int, list[float]], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of item values, and a percentile 95% interval resampling prompts with replacement."""
    groups = [np.asarray(v, dtype=float) for v in values_by_prompt.values() if v]
    if not groups:
        return (math.nan, math.nan, math.nan)
    sums = np.array([g.sum() for g in groups])
    counts = np.array([len(g) for g in groups])
    point = float(sums.sum() / counts.sum())
    if len(groups) == 1:
        return (point, point, point)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(groups), size=(resamples, len(groups)))
    means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (point, float(low), float(high))


def _majority(values: list[Any], order: list[str], positive: set[str]) -> Any:
    counts = Counter(values)
    top = max(counts.values())
    tied = [v for v in order if counts.get(v) == top]
    for v in tied:
        if v in positive:
            return v
    return tied[0] if tied else None


def _rate(k: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(k, n)
    return {"rate": (k / n) if n else None, "low": low, "high": high, "k": k, "n": n}


def _choice_score(dim: dict[str, Any], per_item: dict[int, list[Any]]) -> dict[str, Any]:
    order = [o["value"] for o in dim["options"]]
    positive = set(dim.get("positive", []))
    labels = [_majority(v, order, positive) for v in per_item.values() if v]
    n = len(labels)
    counts = Counter(labels)
    out: dict[str, Any] = {
        "type": "choice",
        "method": "majority per item; Wilson 95% interval over items",
        "n": n,
        "options": {value: _rate(counts.get(value, 0), n) for value in order},
    }
    if positive:
        out["positive"] = sorted(positive)
        out.update(_rate(sum(counts.get(v, 0) for v in positive), n))
    return out


def _multi_choice_score(dim: dict[str, Any], per_item: dict[int, list[Any]]) -> dict[str, Any]:
    order = [o["value"] for o in dim["options"]]
    answered = {i: v for i, v in per_item.items() if v}
    n = len(answered)
    options = {}
    for value in order:
        # An option holds for an item when at least half of its annotators picked it.
        k = sum(
            1 for lists in answered.values() if 2 * sum(value in x for x in lists) >= len(lists)
        )
        options[value] = _rate(k, n)
    return {
        "type": "multi_choice",
        "method": "per option, at least half of annotators; Wilson",
        "n": n,
        "options": options,
    }


def _likert_score(per_item: dict[int, list[Any]], prompt_of: dict[int, int]) -> dict[str, Any]:
    by_prompt: dict[int, list[float]] = defaultdict(list)
    for item_id, vals in per_item.items():
        if vals:
            by_prompt[prompt_of[item_id]].append(float(np.mean(vals)))
    mean, low, high = bootstrap_mean_over_prompts(by_prompt)
    n = sum(len(v) for v in by_prompt.values())
    return {
        "type": "likert",
        "method": f"mean of item means; bootstrap over prompts ({BOOTSTRAP_RESAMPLES} resamples)",
        "mean": None if n == 0 else mean,
        "low": None if n == 0 else low,
        "high": None if n == 0 else high,
        "n": n,
        "n_prompts": len(by_prompt),
    }


def _spans_score(per_item: dict[int, list[Any]]) -> dict[str, Any]:
    flags = [[bool(v) for v in vals] for vals in per_item.values() if vals]
    k = sum(1 for f in flags if 2 * sum(f) > len(f))
    return {
        "type": "spans",
        "method": "items where most annotators marked a span; Wilson",
        **_rate(k, len(flags)),
    }


def score_dimensions(
    schema: dict[str, Any],
    annotations: list[tuple[int, dict[str, Any]]],
    prompt_of: dict[int, int],
) -> dict[str, Any]:
    """Scores for one group of items from (item_id, values) pairs."""
    per_dim: dict[str, dict[int, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for item_id, values in annotations:
        for dim in schema["dimensions"]:
            name = dim["name"]
            if dim["type"] == "spans":
                per_dim[name][item_id].append(values.get(name) or [])
            elif name in values:
                per_dim[name][item_id].append(values[name])
    result: dict[str, Any] = {}
    for dim in schema["dimensions"]:
        per_item = per_dim.get(dim["name"], {})
        kind = dim["type"]
        if kind == "choice":
            result[dim["name"]] = _choice_score(dim, per_item)
        elif kind == "multi_choice":
            result[dim["name"]] = _multi_choice_score(dim, per_item)
        elif kind == "likert":
            result[dim["name"]] = _likert_score(per_item, prompt_of)
        elif kind == "spans":
            result[dim["name"]] = _spans_score(per_item)
    return result


def campaign_scores(campaign: Campaign, *, model_id: int | None = None) -> list[dict[str, Any]]:
    """Per model, overall and per split: every scored dimension with its interval."""
    return scores_for_campaigns([campaign], model_id=model_id)


def scores_for_campaigns(
    campaigns: list[Campaign], *, model_id: int | None = None
) -> list[dict[str, Any]]:
    """Per (campaign, model) scores in two queries, however many campaigns."""
    by_id = {c.pk: c for c in campaigns}
    items = Item.objects.filter(campaign_id__in=by_id)
    ann = Annotation.objects.filter(item__campaign_id__in=by_id)
    if model_id is not None:
        items, ann = items.filter(model_id=model_id), ann.filter(item__model_id=model_id)
    rows = list(
        items.values_list(
            "id", "campaign_id", "model_id", "model__name", "prompt_id", "prompt__split"
        )
    )
    names = {m: name for _, _, m, name, _, _ in rows}
    prompt_of = {i: p for i, _, _, _, p, _ in rows}
    group_of = {i: (c, m, s) for i, c, m, _, _, s in rows}
    n_items: Counter[tuple[int, int, str]] = Counter(group_of.values())
    grouped: dict[tuple[int, int, str], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for item_id, values in ann.values_list("item_id", "values").iterator(chunk_size=5000):
        grouped[group_of[item_id]].append((item_id, values))
    out = []
    for c, m in sorted({(c, m) for c, m, _ in n_items}, key=lambda k: (k[0], names[k[1]])):
        splits = {}
        for split in ("all", "public", "private"):
            keys = [(c, m, s) for s in ("public", "private") if split in ("all", s)]
            anns = [a for key in keys for a in grouped.get(key, [])]
            splits[split] = {
                "n_items": sum(n_items[key] for key in keys),
                "n_labeled_items": len({i for i, _ in anns}),
                "n_annotations": len(anns),
                "dimensions": score_dimensions(by_id[c].rubric.schema, anns, prompt_of),
            }
        out.append(
            {
                "model_id": m,
                "model": names[m],
                "campaign_id": c,
                "campaign": by_id[c].name,
                **splits,
            }
        )
    return out
