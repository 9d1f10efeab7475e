"""Celery tasks: load by id, call one service. Routed to the `gpu` queue (settings)."""

from __future__ import annotations

from celery import shared_task

RUN_JOB = "generation.run_job"


@shared_task(name=RUN_JOB, acks_late=True)
def run_generation_job(job_id: int) -> None:
    from generation.services import generation_job_run

    generation_job_run(job_id)
