"""Celery tasks: load by id, call one service. classifiers.train_* runs on the `gpu` queue."""

from __future__ import annotations

from celery import Task, shared_task

TRAIN_RUN = "classifiers.train_run"
# Sent by name from labeling after a consensus refit (labeling never imports classifiers).
RETRAIN_IF_DUE = "classifiers.retrain_if_due"
SCORE_REQUEST = "classifiers.score_request"


@shared_task(name=TRAIN_RUN, acks_late=True, bind=True)
def train_run(self: Task, run_id: int) -> None:
    from classifiers.services.training import training_run_execute

    training_run_execute(run_id, self.request.id or "")


@shared_task(name=RETRAIN_IF_DUE)
def retrain_if_due(campaign_id: int) -> int | None:
    """Sent by name from labeling after a consensus refit; returns the new run's id, if any."""
    from classifiers.services.runs import retrain_if_due as start_if_due

    run = start_if_due(campaign_id)
    return None if run is None else run.pk


@shared_task(name=SCORE_REQUEST, acks_late=True)
def score_request(request_id: int) -> None:
    from classifiers.services.scoring import scoring_request_execute

    scoring_request_execute(request_id)
