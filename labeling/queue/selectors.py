"""Reads of the annotator's loop."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, QuerySet, Sum

from labeling.access import sees_private_items
from labeling.care.selectors import is_sensitive
from labeling.models import Annotation, Assignment, Campaign, PrivateExposure
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
    progress = sql.annotator_progress(
        campaign.pk,
        user.pk,
        PROGRESS_CAP if capped else None,
        public_only=not sees_private_items(user, campaign),
        without=without,
    )
    # Only when the queue looks empty (or the campaign says so): the hot path stays one query.
    generating = None
    if progress["available"] == 0 or campaign.status == Campaign.Status.GENERATING:
        generating = generation_progress(campaign)
    return {**progress, "generating": generating}


# Generation jobs still producing items (generation.models.GenerationJob.Status).
LIVE_JOB_STATUSES = ("queued", "running")


def generation_progress(campaign: Campaign) -> dict[str, int] | None:
    """Outputs generated so far of the campaign's live generation jobs, or None when none runs.

    Read through the reverse relation the generation app declares: labeling never imports it.
    """
    jobs = getattr(campaign, "generation_jobs", None)
    if jobs is None:
        return None
    row = jobs.filter(status__in=LIVE_JOB_STATUSES).aggregate(
        n=Count("id"), done=Sum("done"), total=Sum("total")
    )
    if not row["n"]:
        return None
    return {"done": int(row["done"] or 0), "total": int(row["total"] or 0), "jobs": int(row["n"])}


HISTORY_LIMIT = 50


def annotator_history(campaign: Campaign, user: User, *, limit: int = 20) -> list[dict[str, Any]]:
    """The annotator's own recent items (submitted or skipped), newest first, with their
    current values: two queries whatever the length."""
    rows = list(
        Assignment.objects.filter(
            campaign=campaign,
            annotator=user,
            status__in=(Assignment.Status.SUBMITTED, Assignment.Status.SKIPPED),
        )
        .select_related("item__prompt")
        .order_by("-finished_at", "-id")[: max(1, min(limit, HISTORY_LIMIT))]
    )
    annotations = {
        a.assignment_id: a
        for a in Annotation.objects.filter(assignment_id__in=[r.pk for r in rows]).annotate(
            n_revisions=Count("revisions")
        )
    }
    out = []
    for r in rows:
        ann = annotations.get(r.pk)
        out.append(
            {
                "id": r.pk,
                "status": r.status,
                "finished_at": r.finished_at,
                "skip_reason": r.skip_reason,
                "item": {
                    "id": r.item.pk,
                    "prompt": r.item.prompt.text,
                    "text": r.item.text,
                    # Opened again from the history, it is blurred as it was when leased.
                    "sensitive": is_sensitive(campaign, r.item.harm_probability),
                },
                "values": ann.values if ann else None,
                "revisions": getattr(ann, "n_revisions", 0) if ann else 0,
            }
        )
    return out


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
