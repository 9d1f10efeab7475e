from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from labeling.models import Annotation, Assignment, Campaign, Item, Membership, Prompt


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


def items_for_admin(campaign: Campaign, *, split: str | None = None) -> QuerySet[Item]:
    qs = Item.objects.filter(campaign=campaign).select_related("prompt", "model").order_by("id")
    if split:
        qs = qs.filter(prompt__split=split)
    return qs


def private_annotators(
    campaigns: Sequence[Campaign], roles: Mapping[int, str | None]
) -> dict[int, list[int]]:
    """Per restricted campaign the caller admins: the members with private access (user ids).
    One statement, none when no such campaign is among them."""
    ids = [c.pk for c in campaigns if c.private_restricted and roles.get(c.pk) == "admin"]
    if not ids:
        return {}
    out: dict[int, list[int]] = {pk: [] for pk in ids}
    rows = Membership.objects.filter(campaign_id__in=ids, private_access=True).order_by("user_id")
    for campaign_id, user_id in rows.values_list("campaign_id", "user_id"):
        out[campaign_id].append(user_id)
    return out


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    agg = Prompt.objects.filter(campaign=campaign).aggregate(
        prompts=Count("id"), private=Count("id", filter=Q(split=Prompt.Split.PRIVATE))
    )
    return {"prompts": agg["prompts"], "private_prompts": agg["private"]}


def campaign_prompt_texts(
    campaign: Campaign, prompt_ids: list[int] | None = None
) -> list[tuple[int, str]]:
    """(id, text) of every prompt of the campaign (or of those ids), both splits: models
    answer all of them."""
    qs = campaign.prompts.order_by("id")
    if prompt_ids is not None:
        qs = qs.filter(id__in=prompt_ids)
    return list(qs.values_list("id", "text"))


def prompts_visible(campaign: Campaign, *, is_admin: bool) -> QuerySet[Prompt]:
    """Private (held-out) prompts are listed to campaign admins only."""
    qs = campaign.prompts.order_by("id")
    return qs if is_admin else qs.filter(split=Prompt.Split.PUBLIC)


def throughput(campaign: Campaign, *, hours: int = 48) -> list[dict[str, Any]]:
    """Annotations submitted per hour over the last `hours` hours (empty hours included)."""
    now = timezone.now()
    since = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    rows = dict(
        Annotation.objects.filter(item__campaign=campaign, created_at__gte=since)
        .annotate(hour=TruncHour("created_at"))
        .values_list("hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        {
            "hour": (since + timedelta(hours=h)).isoformat(),
            "annotations": rows.get(since + timedelta(hours=h), 0),
        }
        for h in range(hours)
    ]


def annotator_stats(campaign: Campaign) -> list[dict[str, Any]]:
    """Per annotator: annotations, skips, live leases and median seconds per item."""
    counts = (
        Assignment.objects.filter(campaign=campaign)
        .values("annotator_id", "annotator__username")
        .annotate(
            submitted=Count("id", filter=Q(status=Assignment.Status.SUBMITTED)),
            skipped=Count("id", filter=Q(status=Assignment.Status.SKIPPED)),
            active=Count("id", filter=Q(status=Assignment.Status.ACTIVE)),
        )
        .order_by("annotator__username")
    )
    times: dict[int, list[int]] = defaultdict(list)
    for annotator_id, ms in Annotation.objects.filter(
        item__campaign=campaign, time_spent_ms__isnull=False
    ).values_list("annotator_id", "time_spent_ms"):
        if ms is not None:
            times[annotator_id].append(ms)
    out = []
    for row in counts:
        spent = times.get(row["annotator_id"], [])
        finished = row["submitted"] + row["skipped"]
        out.append(
            {
                "annotator_id": row["annotator_id"],
                "username": row["annotator__username"],
                "submitted": row["submitted"],
                "skipped": row["skipped"],
                "active": row["active"],
                "skip_rate": row["skipped"] / finished if finished else None,
                "median_seconds": statistics.median(spent) / 1000 if spent else None,
            }
        )
    return out
