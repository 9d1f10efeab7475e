"""Celery tasks: load by id, call one service. Routed to the `gpu` queue (settings)."""

from __future__ import annotations

from celery import shared_task

RUN_JOB = "generation.run_job"
RUN_CHUNK = "generation.run_chunk"


@shared_task(name=RUN_JOB, acks_late=True)
def run_generation_job(job_id: int) -> None:
    """Plan a queued job into chunks and enqueue them (a no-op for a job already planned)."""
    from generation.services import generation_job_plan

    generation_job_plan(job_id)


@shared_task(name=RUN_CHUNK, acks_late=True)
def run_generation_chunk(chunk_id: int) -> None:
    from generation.runner import generation_chunk_run

    generation_chunk_run(chunk_id)
