"""Asking for a scores refresh: cheap, and imported by web processes (no numpy here).

Requests (after a consensus refit, new classifier predictions, an import, or a read that finds
the summary stale) flip ScoreRefresh.pending with one conditional UPDATE, so a burst of them
enqueues one `labeling.refresh_scores` task on the `default` queue; the task refreshes the
summary, recomputing only the slices whose inputs changed (incremental.py; summary.py holds
the scoring). A flag older than REFRESH_STALE counts as not set: the message it
stands for was lost with a killed worker (the filesystem broker does not redeliver), and a flag
that never clears would stop the campaign's refreshes for good.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.models import ScoreRefresh

REFRESH_DEBOUNCE_S = 15
REFRESH_STALE = timedelta(minutes=15)


def score_summary_request(*, campaign_id: int, countdown: float | None = None) -> bool:
    """Schedule a refresh unless one is already pending; True when this call scheduled it.

    The task runs `countdown` seconds later (default REFRESH_DEBOUNCE_S), so a burst of
    requests is answered by one refresh that sees all of it.
    """
    from labeling.scores.tasks import refresh_scores

    delay = REFRESH_DEBOUNCE_S if countdown is None else countdown
    now = timezone.now()
    ScoreRefresh.objects.get_or_create(campaign_id=campaign_id)
    free = Q(pending=False) | Q(requested_at__isnull=True) | Q(requested_at__lt=now - REFRESH_STALE)
    claimed = ScoreRefresh.objects.filter(free, campaign_id=campaign_id).update(
        pending=True, requested_at=now
    )
    if claimed:
        transaction.on_commit(
            lambda: refresh_scores.apply_async(args=(campaign_id,), countdown=delay)
        )
    return bool(claimed)
