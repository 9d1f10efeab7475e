"""Reads of the annotator's loop."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from labeling.access import sees_private_items
from labeling.models import Campaign, PrivateExposure
from labeling.queue import sql

# Counting every open item was the slowest statement of `next` on large campaigns.
PROGRESS_CAP = 1000


def annotator_progress(
    campaign: Campaign, user: User, *, capped: bool = False, without: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What this annotator has done, and how many items are left for them (the current one
    included). It runs on every `next`, so it is one hand-written statement; with `capped`
    the open items are counted only up to PROGRESS_CAP (`available_capped` then says so).
    Items of the hazard categories they opted out of (`without`) don't count."""
    return sql.annotator_progress(
        campaign.pk,
        user.pk,
        PROGRESS_CAP if capped else None,
        public_only=not sees_private_items(user, campaign),
        without=without,
    )


# Column name in the API (JSON page and CSV) -> the field it is read from.
EXPOSURE_COLUMNS = {
    "id": "id",
    "shown_at": "shown_at",
    "annotator": "annotator_id",
    "username": "annotator__username",
    "prompt": "prompt_id",
    "prompt_external_id": "prompt__external_id",
    "item": "item_id",
}


def private_exposures(
    campaign: Campaign, *, annotator_id: int | None = None, since: datetime | None = None
) -> QuerySet[PrivateExposure, dict[str, Any]]:
    """Who was shown which private prompt and when, newest first, as plain rows."""
    qs = PrivateExposure.objects.filter(campaign=campaign)
    if annotator_id is not None:
        qs = qs.filter(annotator_id=annotator_id)
    if since is not None:
        qs = qs.filter(shown_at__gte=since)
    return qs.order_by("-shown_at", "-id").values(*EXPOSURE_COLUMNS.values())
