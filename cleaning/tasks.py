"""Celery tasks: load by id, call one service. Each is sent to the job's queue (`gpu` when a
transformer scores, `default` otherwise); re-running any of them is safe."""

from __future__ import annotations

from typing import Any

from celery import shared_task

PLAN = "cleaning.plan_job"
PREVIEW = "cleaning.preview_job"
SHARD = "cleaning.run_shard"
FINALIZE = "cleaning.finalize_job"
SWEEP = "cleaning.sweep_job"


@shared_task(name=PLAN, acks_late=True)
def plan_job(job_id: int) -> None:
    from cleaning.services import cleaning_job_plan

    cleaning_job_plan(job_id)


@shared_task(name=PREVIEW, acks_late=True)
def preview_job(job_id: int) -> None:
    from cleaning.report import cleaning_job_preview

    cleaning_job_preview(job_id)


@shared_task(name=SHARD, acks_late=True, bind=True)
def run_shard(self: Any, shard_id: int) -> None:
    from cleaning.runner import shard_run

    shard_run(shard_id, worker=str(getattr(self.request, "hostname", "") or ""))


@shared_task(name=FINALIZE, acks_late=True)
def finalize_job(job_id: int) -> None:
    from cleaning.report import cleaning_job_finalize

    cleaning_job_finalize(job_id)


@shared_task(name=SWEEP, acks_late=True)
def sweep_job(job_id: int) -> None:
    from cleaning.services import cleaning_job_sweep

    cleaning_job_sweep(job_id)
