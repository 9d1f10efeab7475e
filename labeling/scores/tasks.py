"""The scores summary's Celery task (`default` queue): load by id, call one service.

Listed in CELERY_IMPORTS: autodiscovery looks for `<app>.tasks` only.
"""

from __future__ import annotations

from celery import shared_task

REFRESH_SCORES = "labeling.refresh_scores"


@shared_task(name=REFRESH_SCORES, acks_late=True)
def refresh_scores(campaign_id: int, full: bool = False) -> None:
    # Incremental: only the slices whose inputs changed since the stored rows are recomputed.
    from labeling.scores.incremental import score_summary_update

    score_summary_update(campaign_id=campaign_id, full=full)
