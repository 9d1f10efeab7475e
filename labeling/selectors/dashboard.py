"""What the campaign dashboard shows: throughput over time and per-annotator work."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from labeling.models import Annotation, Assignment, Campaign


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
