from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from labeling import hot_sql
from labeling.models import Campaign, Item, Prompt


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    """Labeling progress: items by number of submitted annotations, and totals."""
    by_count = dict(
        Item.objects.filter(campaign=campaign)
        .values_list("n_submitted")
        .annotate(n=Count("id"))
        .order_by()
    )
    items = sum(by_count.values())
    annotations = sum(k * v for k, v in by_count.items())
    return {
        "items": items,
        "annotations": annotations,
        "target_annotations": items * campaign.overlap,
        "items_by_annotations": {str(k): by_count.get(k, 0) for k in range(campaign.overlap + 1)},
        "items_complete": sum(v for k, v in by_count.items() if k >= campaign.overlap),
    }


# `next` counts open items up to this many; beyond it the count says "at least".
PROGRESS_CAP = 1000


def annotator_progress(campaign: Campaign, user: Any, *, capped: bool = False) -> dict[str, Any]:
    """What this annotator has done, and how many items are left for them (the current one
    included). It runs on every `next`, so it is one hand-written statement; with `capped`
    the open items are counted only up to PROGRESS_CAP (`available_capped` then says so)."""
    return hot_sql.annotator_progress(campaign.pk, user.pk, PROGRESS_CAP if capped else None)


def items_for_admin(campaign: Campaign, *, split: str | None = None) -> QuerySet[Item]:
    qs = Item.objects.filter(campaign=campaign).select_related("prompt", "model").order_by("id")
    if split:
        qs = qs.filter(prompt__split=split)
    return qs


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    agg = Prompt.objects.filter(campaign=campaign).aggregate(
        prompts=Count("id"), private=Count("id", filter=Q(split=Prompt.Split.PRIVATE))
    )
    return {"prompts": agg["prompts"], "private_prompts": agg["private"]}
