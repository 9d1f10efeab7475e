"""Celery tasks of the labeling app: load by id, call one service. On the `default` queue."""

from __future__ import annotations

from celery import shared_task

REFIT_CONSENSUS = "labeling.refit_consensus"


@shared_task(name=REFIT_CONSENSUS, acks_late=True)
def refit_consensus(campaign_id: int) -> None:
    from labeling.quality.consensus import consensus_refit

    consensus_refit(campaign_id=campaign_id)
