"""The scores summary's Celery task (`default` queue): load by id, call one service.

Listed in CELERY_IMPORTS: autodiscovery looks for `<app>.tasks` only.
"""

from __future__ import annotations

from celery import shared_task

REFRESH_SCORES = "labeling.refresh_scores"


@shared_task(name=REFRESH_SCORES, acks_late=True)
def refresh_scores(campaign_id: int) -> None:
    from labeling.scores.summary import score_summary_refresh

    score_summary_refresh(campaign_id=campaign_id)
