"""Celery tasks of the labeling app: load by id, call one service. On the `default` queue."""

from __future__ import annotations

from celery import Task, shared_task

REFIT_CONSENSUS = "labeling.refit_consensus"


@shared_task(name=REFIT_CONSENSUS, acks_late=True, bind=True)
def refit_consensus(self: Task, campaign_id: int) -> None:
    from labeling.quality.consensus import consensus_refit

    # The task's id: redelivered after its worker was killed, it takes its refit slot back.
    consensus_refit(campaign_id=campaign_id, owner=self.request.id or "")
