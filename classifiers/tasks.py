"""Celery tasks: load by id, call one service. classifiers.train_* runs on the `gpu` queue."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="classifiers.train_run", acks_late=True)
def train_run(run_id: int) -> None:
    from classifiers.services.training import training_run_execute

    training_run_execute(run_id)


@shared_task(name="classifiers.retrain_if_due")
def retrain_if_due(campaign_id: int) -> int | None:
    """Sent by name from labeling after a consensus refit; returns the new run's id, if any."""
    from classifiers.services.runs import retrain_if_due as start_if_due

    run = start_if_due(campaign_id)
    return None if run is None else run.pk
