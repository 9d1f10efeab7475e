"""What a campaign's analytics are waiting for: the refit and the score refresh, and the queue.

Read by the analytics pages while they poll. Every number is counted, never estimated:

- the campaign's own bookkeeping rows (QualityState, ScoreRefresh): when the last refit and
  refresh finished, when the next one was requested, whether one is running now;
- ``ahead``: other campaigns' refits and refreshes requested earlier than this one's and not yet
  started (the debounce records: one per waiting task);
- ``waiting_in_broker``: messages in the broker's `default` queue that no worker has taken yet,
  as the broker counts them (files in var/broker/in for the filesystem transport, the list's
  length for Redis); null when the broker cannot be asked. Tasks a worker has already taken
  (running, or held until their countdown) are not in it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from labeling.models import Campaign, QualityState, ScoreRefresh
from labeling.quality.consensus import REFIT_STALE, refit_running
from labeling.scores.refresh import REFRESH_STALE
from labeling.scores.selectors import summary_status

log = logging.getLogger(__name__)
QUEUE = "default"


def broker_queue_length(queue: str = QUEUE) -> int | None:
    """Messages waiting in `queue` that no worker has taken; None when the broker won't say."""
    from celery import current_app

    try:
        with current_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            channel: Any = conn.default_channel
            _name, count, _consumers = channel.queue_declare(queue=queue, passive=True)
            return int(count)
    except Exception:  # a status line must not fail the page: say "not counted"
        log.warning("could not count the %s queue", queue, exc_info=True)
        return None


def _ahead(campaign_id: int, since: datetime | None, now: datetime) -> int:
    """Other campaigns' refits and refreshes requested before `since` and not yet started."""
    if since is None:
        return 0
    refits = QualityState.objects.filter(
        ~Q(campaign_id=campaign_id),
        refit_scheduled=True,
        refit_requested_at__lt=since,
        refit_requested_at__gte=now - REFIT_STALE,
    ).count()
    refreshes = ScoreRefresh.objects.filter(
        ~Q(campaign_id=campaign_id),
        pending=True,
        requested_at__lt=since,
        requested_at__gte=now - REFRESH_STALE,
    ).count()
    return refits + refreshes


def analytics_status(campaign: Campaign) -> dict[str, Any]:
    now = timezone.now()
    state = QualityState.objects.filter(campaign=campaign).first()
    refresh = ScoreRefresh.objects.filter(campaign=campaign).first()
    scores = summary_status(campaign)
    refit_waiting = bool(
        state
        and state.refit_scheduled
        and state.refit_requested_at
        and state.refit_requested_at >= now - REFIT_STALE
    )
    refresh_waiting = bool(
        refresh
        and refresh.pending
        and refresh.requested_at
        and refresh.requested_at >= now - REFRESH_STALE
    )
    waits = [
        t
        for t, on in (
            (state.refit_requested_at if state else None, refit_waiting),
            (refresh.requested_at if refresh else None, refresh_waiting),
        )
        if on and t is not None
    ]
    return {
        "checked_at": now,
        "refit": {
            "waiting": refit_waiting,
            "running": bool(state and refit_running(state, now)),
            "requested_at": state.refit_requested_at if state else None,
            "started_at": state.refit_started_at if state else None,
            "last_at": state.last_refit_at if state else None,
            "last_s": state.last_refit_s if state else None,
            "last_error": state.last_error if state else "",
        },
        "scores": {
            "waiting": refresh_waiting,
            "stale": scores["stale"],
            "requested_at": refresh.requested_at if refresh else None,
            "last_at": scores["computed_at"],
            "last_s": refresh.refresh_s if refresh else None,
        },
        "queue": {
            "name": QUEUE,
            "ahead": _ahead(campaign.pk, min(waits), now) if waits else 0,
            "waiting_in_broker": broker_queue_length() if waits else None,
        },
    }
