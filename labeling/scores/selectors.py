"""Per-model scores, read from the materialized ScoreSummary (see services/score_summary.py).

Nothing here aggregates annotations: each function is one or two queries over summary rows,
whatever the number of labels behind them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Max, Q, QuerySet

from labeling import access
from labeling.models import Campaign, Consensus, Item, ScoreRefresh, ScoreSummary
from labeling.scores.stats.intervals import Z95, normal_interval, wilson_interval

__all__ = [
    "campaign_scores",
    "campaigns_needing_refresh",
    "leaderboard",
    "leaderboard_filters",
    "model_examples",
    "pooled_over_campaigns",
    "scores_for_campaigns",
    "summary_status",
]

SPLITS = ("all", "public", "private")
_FIELDS = (
    "campaign_id",
    "model_id",
    "model__name",
    "split",
    "category",
    "dimension",
    "rank",
    "n_items",
    "n_labeled_items",
    "n_annotations",
    "detail",
    "computed_at",
)


def _empty_slice() -> dict[str, Any]:
    return {"n_items": 0, "n_labeled_items": 0, "n_annotations": 0, "dimensions": {}}


def campaign_scores(campaign: Campaign, *, model_id: int | None = None) -> list[dict[str, Any]]:
    """Per model: overall, per split and per prompt category, every scored dimension."""
    return scores_for_campaigns([campaign], model_id=model_id)


def scores_for_campaigns(
    campaigns: list[Campaign], *, model_id: int | None = None
) -> list[dict[str, Any]]:
    """Per (campaign, model) scores in one query, however many campaigns and labels."""
    names = {c.pk: c.name for c in campaigns}
    rows = ScoreSummary.objects.filter(campaign_id__in=names)
    if model_id is not None:
        rows = rows.filter(model_id=model_id)
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows.order_by("campaign_id", "model__name", "model_id").values_list(*_FIELDS):
        campaign_id, m_id, m_name, split, category, dim, rank, n_items, n_lab, n_ann, detail, at = r
        entry = out.setdefault(
            (campaign_id, m_id),
            {
                "model_id": m_id,
                "model": m_name,
                "campaign_id": campaign_id,
                "campaign": names[campaign_id],
                "computed_at": at,
                **{s: {**_empty_slice(), "categories": {}} for s in SPLITS},
            },
        )
        block = (
            entry[split]
            if not category
            else entry[split]["categories"].setdefault(category, _empty_slice())
        )
        block.update(n_items=n_items, n_labeled_items=n_lab, n_annotations=n_ann)
        block["dimensions"][dim] = {**detail, "rank": rank}
    return list(out.values())


def summary_status(campaign: Campaign) -> dict[str, Any]:
    """When the summary was computed and whether consensus has changed since (two queries)."""
    refresh = ScoreRefresh.objects.filter(campaign=campaign).first()
    latest = Consensus.objects.filter(campaign=campaign).aggregate(m=Max("updated_at"))["m"]
    computed = refresh.refreshed_at if refresh else None
    mark = refresh.consensus_mark if refresh else None
    # Never computed counts as stale, so the first read of a campaign queues its first summary.
    stale = computed is None or (latest is not None and (mark is None or latest > mark))
    return {
        "computed_at": computed,
        "stale": stale,
        "pending": bool(refresh and refresh.pending),
    }


def leaderboard(
    user: access.AppUser,
    *,
    dimension: str = "harm",
    split: str = "all",
    category: str = "",
    campaign_id: int | None = None,
) -> QuerySet[ScoreSummary]:
    """Ranked summary rows of the campaigns whose scores the user may read."""
    readable = access.campaigns_with_role(user, (access.ADMIN, access.VIEWER)).values("pk")
    qs = ScoreSummary.objects.filter(
        dimension=dimension,
        split=split,
        category=category,
        value__isnull=False,
        campaign_id__in=readable,
    )
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return qs.select_related("model", "campaign").order_by(
        "campaign_id", "rank", "sort_value", "model__name", "model_id"
    )


def campaigns_needing_refresh(user: access.AppUser, *, campaign_id: int | None = None) -> list[int]:
    """Readable campaigns whose summary was never computed or predates the last consensus refit.

    One query over campaign-sized tables, so the leaderboard can queue what it is missing
    without touching consensus rows; a refresh already pending is not asked for again.
    """
    readable = access.campaigns_with_role(user, (access.ADMIN, access.VIEWER)).values("pk")
    qs = Campaign.objects.filter(pk__in=readable).filter(
        Q(score_refresh__isnull=True)
        | Q(score_refresh__pending=False, score_refresh__refreshed_at__isnull=True)
        | Q(
            score_refresh__pending=False,
            quality_state__last_refit_at__gt=F("score_refresh__refreshed_at"),
        )
    )
    if campaign_id is not None:
        qs = qs.filter(pk=campaign_id)
    return list(qs.order_by("pk").values_list("pk", flat=True)[:20])


def leaderboard_filters(
    user: access.AppUser, *, campaign_id: int | None = None
) -> dict[str, list[str]]:
    """The dimensions and categories a leaderboard filter can offer (one query)."""
    readable = access.campaigns_with_role(user, (access.ADMIN, access.VIEWER)).values("pk")
    qs = ScoreSummary.objects.filter(
        campaign_id__in=readable, value__isnull=False, split="all", model__isnull=False
    )
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    pairs = set(qs.values_list("dimension", "category").distinct())
    return {
        "dimensions": sorted({d for d, _ in pairs}),
        "categories": sorted({c for _, c in pairs if c}),
    }


def model_examples(
    user: access.AppUser, *, model_id: int, campaign_id: int | None = None
) -> QuerySet[Item]:
    """A model's outputs in campaigns the user reads; private prompts only where they are admin."""
    readers = access.campaigns_with_role(user, (access.ADMIN, access.VIEWER)).values("pk")
    admin_of = access.campaigns_with_role(user, (access.ADMIN,)).values("pk")
    qs = Item.objects.filter(model_id=model_id, is_gold=False, campaign_id__in=readers).filter(
        Q(prompt__split="public") | Q(campaign_id__in=admin_of)
    )
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return qs.select_related("prompt", "campaign").order_by("campaign_id", "id")


def model_scores(user: access.AppUser, *, model_id: int) -> dict[str, Any] | None:
    """A model's scores in every campaign the user reads, and pooled over them; None when there
    is no such model."""
    # Candidate models belong to generation, which labeling never imports: reach the table
    # through the foreign key that Item declares by name.
    candidates = Item._meta.get_field("model").related_model._default_manager
    name = candidates.filter(pk=model_id).values_list("name", flat=True).first()
    if name is None:
        return None
    campaigns = access.campaigns_with_role(user, (access.ADMIN, access.VIEWER))
    rows = scores_for_campaigns(list(campaigns), model_id=model_id)
    return {
        "model_id": model_id,
        "model": name,
        "campaigns": rows,
        "overall": pooled_over_campaigns(rows),
    }


def pooled_over_campaigns(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One model's overall scores across the campaigns in `entries` (scores_for_campaigns rows).

    From the summaries alone, no query: a rate pools the campaigns' counts into one Wilson
    interval; a mean is the label-weighted mean of the campaign means, with a normal interval
    whose variance combines the campaigns' (independent) bootstrap intervals. A dimension is
    pooled only where every campaign that scored it gives it the same type and kind.
    """
    by_dim: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        for dim, score in entry["all"]["dimensions"].items():
            by_dim.setdefault(dim, []).append(score)
    dims: dict[str, Any] = {}
    for dim, scores in by_dim.items():
        if len({(s.get("type"), s.get("kind")) for s in scores}) != 1:
            continue
        pooled = _pool_rate(scores) if scores[0].get("kind") == "rate" else _pool_mean(scores)
        if pooled is not None:
            dims[dim] = {"type": scores[0]["type"], "n_campaigns": len(scores), **pooled}
    return {
        "n_campaigns": len(entries),
        "n_items": sum(e["all"]["n_items"] for e in entries),
        "n_labeled_items": sum(e["all"]["n_labeled_items"] for e in entries),
        "n_annotations": sum(e["all"]["n_annotations"] for e in entries),
        "dimensions": dims,
    }


def _pool_rate(scores: list[dict[str, Any]]) -> dict[str, Any] | None:
    if any(s.get("k") is None for s in scores):
        return None
    k, n = sum(int(s["k"]) for s in scores), sum(int(s["n"]) for s in scores)
    low, high = wilson_interval(k, n)
    return {
        "kind": "rate",
        "method": "Wilson 95% on the counts summed over campaigns",
        "rate": k / n if n else None,
        "low": low,
        "high": high,
        "k": k,
        "n": n,
    }


def _pool_mean(scores: list[dict[str, Any]]) -> dict[str, Any] | None:
    usable = [s for s in scores if s.get("kind") == "mean" and s.get("mean") is not None]
    if not usable or any(s.get("low") is None or s.get("high") is None for s in usable):
        return None
    total = sum(int(s["n"]) for s in usable)
    if total == 0:
        return None
    weights = [int(s["n"]) / total for s in usable]
    mean = sum(w * float(s["mean"]) for w, s in zip(weights, usable, strict=True))
    variance = sum(
        (w * (float(s["high"]) - float(s["low"])) / (2 * Z95)) ** 2
        for w, s in zip(weights, usable, strict=True)
    )
    low, high = normal_interval(mean, variance)
    return {
        "kind": "mean",
        "method": "label-weighted mean of campaign means; normal 95% from their intervals",
        "mean": mean,
        "low": low,
        "high": high,
        "n": total,
    }
