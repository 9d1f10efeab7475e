"""Reads of the annotator's loop."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from labeling.models import Campaign
from labeling.queue import sql

# Counting every open item was the slowest statement of `next` on large campaigns.
PROGRESS_CAP = 1000


def annotator_progress(campaign: Campaign, user: User, *, capped: bool = False) -> dict[str, Any]:
    """What this annotator has done, and how many items are left for them (the current one
    included). It runs on every `next`, so it is one hand-written statement; with `capped`
    the open items are counted only up to PROGRESS_CAP (`available_capped` then says so)."""
    return sql.annotator_progress(campaign.pk, user.pk, PROGRESS_CAP if capped else None)
