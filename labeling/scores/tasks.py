"""The scores summary's Celery task (`default` queue): load by id, call one service.

Its own module (listed in CELERY_IMPORTS) so that labeling/tasks.py stays the quality code's.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="labeling.refresh_scores", acks_late=True)
def refresh_scores(campaign_id: int) -> None:
    from labeling.scores.summary import score_summary_refresh

    score_summary_refresh(campaign_id=campaign_id)
