"""Generation jobs: start, plan into chunks, cancel, restart after a kill.

The chunks run on `gpu` workers (generation/runner.py). Starting a job queues one planning
task; the plan lists the outputs still missing and splits them into chunks, each its own task.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import fields
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import DomainError
from generation.backends import DecodingParams
from generation.models import CandidateModel, GenerationChunk, GenerationJob
from labeling.campaigns.selectors import campaign_prompt_texts
from labeling.campaigns.services import (
    campaign_generation_finished,
    campaign_generation_started,
    existing_samples,
)
from labeling.models import Campaign

log = logging.getLogger(__name__)

_LIMITS: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 5.0),
    "top_p": (0.0, 1.0),
    "max_new_tokens": (1, 4096),
    "seed": (0, 2**31 - 1),
    "samples_per_prompt": (1, 100),
}


def decoding_params(raw: dict[str, Any], defaults: dict[str, Any] | None = None) -> DecodingParams:
    merged = {**(defaults or {}), **raw}
    known = {f.name: f.type for f in fields(DecodingParams)}
    errors: dict[str, list[str]] = {}
    for key in merged:
        if key not in known:
            errors.setdefault(f"params.{key}", []).append("unknown decoding parameter")
    values: dict[str, Any] = {}
    for key, (lo, hi) in _LIMITS.items():
        if key not in merged:
            continue
        value = merged[key]
        integral = key in ("max_new_tokens", "seed", "samples_per_prompt")
        if isinstance(value, bool) or not isinstance(value, int if integral else (int, float)):
            errors.setdefault(f"params.{key}", []).append(
                "must be an integer" if integral else "must be a number"
            )
        elif not lo <= value <= hi:
            errors.setdefault(f"params.{key}", []).append(f"must be between {lo} and {hi}")
        else:
            values[key] = value if integral else float(value)
    if errors:
        raise DomainError("the decoding parameters are not valid", errors=errors)
    return DecodingParams(**values)


def params_hash(params: DecodingParams) -> str:
    canonical = json.dumps(params.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def output_key(
    *, model: CandidateModel, prompt_text: str, params: DecodingParams, sample_index: int
) -> str:
    """The idempotency key of one output: model configuration, prompt, decoding, sample.

    The database enforces the same identity (an item is unique per prompt, model row, params
    hash and sample index), so an output is stored once whatever retries, crashes or duplicate
    workers do; the key travels in the provenance (and as an HTTP Idempotency-Key) so the
    identity can be checked outside the database too.
    """
    config = {
        "model_id": model.pk,
        "backend": model.backend,
        "path": model.path,
        "base_url": getattr(model, "base_url", ""),
        "api_model": getattr(model, "api_model", ""),
        "prompt_sha256": hashlib.sha256(prompt_text.encode()).hexdigest(),
        "decoding": params.as_dict(),
        "sample_index": sample_index,
    }
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _enqueue(job_id: int) -> None:
    from generation.tasks import run_generation_job

    transaction.on_commit(lambda: run_generation_job.delay(job_id))


def _enqueue_chunks(chunk_ids: list[int]) -> None:
    from generation.tasks import run_generation_chunk

    def send() -> None:
        for chunk_id in chunk_ids:
            run_generation_chunk.delay(chunk_id)

    transaction.on_commit(send)


def enqueue_next_chunks(job_id: int, count: int) -> list[int]:
    """Send the next `count` chunks of the job that were never sent, lowest index first; each
    is marked by a conditional UPDATE, so two finishing chunks never send the same one."""
    now = timezone.now()
    candidates = GenerationChunk.objects.filter(
        job_id=job_id, status=GenerationChunk.Status.QUEUED, enqueued_at__isnull=True
    ).order_by("index")
    sent: list[int] = []
    for chunk_id in candidates.values_list("pk", flat=True)[: count * 4]:
        if len(sent) == count:
            break
        if GenerationChunk.objects.filter(pk=chunk_id, enqueued_at__isnull=True).update(
            enqueued_at=now
        ):
            sent.append(chunk_id)
    _enqueue_chunks(sent)
    return sent


def _is_live(job: GenerationJob) -> bool:
    stale = timezone.now() - timedelta(seconds=settings.ASSAY_JOB_STALE_SECONDS)
    return job.status == GenerationJob.Status.RUNNING and bool(
        job.heartbeat_at and job.heartbeat_at > stale
    )


@transaction.atomic
def generation_job_start(
    *, campaign: Campaign, model: CandidateModel, params: dict[str, Any], force: bool = False
) -> GenerationJob:
    """Create the job for (campaign, model, params), or restart the existing one.

    Starting the same configuration again resumes it: outputs already stored are kept and only
    the missing ones are generated. A run that still looks alive (recent heartbeat) is left
    alone unless `force`: an admin who knows its worker died takes the job over, and the old
    chunks, should they still run, stop at their next batch (the new plan replaces them).
    """
    if model.backend == CandidateModel.Backend.IMPORTED:
        raise DomainError("this model's outputs are imported; it cannot generate", field="model")
    if campaign.status == Campaign.Status.CLOSED:
        raise DomainError("the campaign is closed", field="campaign")
    if not campaign.prompts.exists():
        raise DomainError("import prompts before starting generation", field="campaign")
    decoding = decoding_params(params, model.default_decoding)
    digest = params_hash(decoding)
    job, created = GenerationJob.objects.select_for_update().get_or_create(
        campaign=campaign,
        model=model,
        params_hash=digest,
        defaults={"params": decoding.as_dict(), "attempts": 1},
    )
    if not created:
        if _is_live(job) and not force:
            raise DomainError(
                "this job is running; restart with force=true if its worker died",
                code="job_running",
                status_code=409,
            )
        job.status = GenerationJob.Status.QUEUED
        job.error = ""
        job.run_token = ""
        job.heartbeat_at = None
        job.attempts += 1
        job.save(update_fields=["status", "error", "run_token", "heartbeat_at", "attempts"])
    if campaign.status == Campaign.Status.DRAFT:
        campaign_generation_started(campaign_id=campaign.pk)
    _enqueue(job.pk)
    return job


def _missing_pairs(job: GenerationJob, params: DecodingParams) -> tuple[int, list[list[int]]]:
    """(total outputs, [prompt_id, sample_index] pairs not stored yet), sample-major."""
    prompt_ids = [pid for pid, _ in campaign_prompt_texts(job.campaign)]
    stored = existing_samples(
        campaign=job.campaign, model_id=job.model_id, params_hash=job.params_hash
    )
    missing = [
        [pid, sample]
        for sample in range(params.samples_per_prompt)
        for pid in prompt_ids
        if (pid, sample) not in stored
    ]
    return len(prompt_ids) * params.samples_per_prompt, missing


@transaction.atomic
def generation_job_plan(job_id: int, *, enqueue: bool = True) -> list[int]:
    """Split a queued job's missing outputs into chunks; returns the chunks' ids.

    Taking the job from queued to running is the claim: a second delivery of the planning
    task finds it running and does nothing. Chunks of an earlier plan are replaced, so a run
    still holding one of them stops at its next batch.
    """
    now = timezone.now()
    taken = GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).update(
        status=GenerationJob.Status.RUNNING,
        heartbeat_at=now,
        started_at=now,
        finished_at=None,
        error="",
        tokens_per_s=None,
        items_per_s=None,
    )
    if not taken:
        log.info("job %s is not queued (planned already, cancelled or gone)", job_id)
        return []
    job = GenerationJob.objects.select_related("campaign", "model").get(pk=job_id)
    total, missing = _missing_pairs(job, DecodingParams(**job.params))
    job.chunks.all().delete()
    size = settings.ASSAY_GENERATION_CHUNK_SIZE
    chunks = GenerationChunk.objects.bulk_create(
        GenerationChunk(
            job=job,
            index=n,
            pairs=missing[start : start + size],
            total=len(missing[start : start + size]),
        )
        for n, start in enumerate(range(0, len(missing), size))
    )
    GenerationJob.objects.filter(pk=job_id).update(
        total=total, done=total - len(missing), chunks_total=len(chunks), chunks_done=0
    )
    if not chunks:
        job_finish(job_id, GenerationJob.Status.SUCCEEDED)
        return []
    ids = [c.pk for c in chunks]
    if enqueue:
        enqueue_next_chunks(job_id, settings.ASSAY_GENERATION_CHUNKS_IN_FLIGHT)
    else:
        # The caller runs every chunk itself: none is to be sent when another finishes.
        GenerationChunk.objects.filter(pk__in=ids).update(enqueued_at=now)
    return ids


def _close_campaign_generation(campaign_id: int) -> None:
    # Cancelled jobs were stopped on purpose: what they stored can be labeled.
    unfinished = GenerationJob.objects.filter(campaign_id=campaign_id).exclude(
        status__in=[GenerationJob.Status.SUCCEEDED, GenerationJob.Status.CANCELLED]
    )
    if not unfinished.exists():
        campaign_generation_finished(campaign_id=campaign_id)


@transaction.atomic
def job_finish(job_id: int, status: str, error: str = "") -> bool:
    """Record a running job's outcome; a success (or the last job) opens the campaign.

    One transaction: nobody sees the job succeeded while its campaign still says generating.
    """
    job = GenerationJob.objects.select_for_update().get(pk=job_id)
    if job.status != GenerationJob.Status.RUNNING:
        return False
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])
    if status != GenerationJob.Status.SUCCEEDED:
        GenerationChunk.objects.filter(
            job_id=job_id,
            status__in=[GenerationChunk.Status.QUEUED, GenerationChunk.Status.RUNNING],
        ).update(status=GenerationChunk.Status.CANCELLED, finished_at=timezone.now())
    else:
        _close_campaign_generation(job.campaign_id)
    return True


@transaction.atomic
def generation_job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Stop a job: queued chunks never run, running ones stop at their next batch.

    What was stored stays; starting the job again generates only the rest.
    """
    locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if locked.status == GenerationJob.Status.SUCCEEDED:
        raise DomainError("this job has finished", code="job_finished", status_code=409)
    if locked.status != GenerationJob.Status.CANCELLED:
        locked.status, locked.finished_at = GenerationJob.Status.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        GenerationChunk.objects.filter(
            job=locked,
            status__in=[GenerationChunk.Status.QUEUED, GenerationChunk.Status.RUNNING],
        ).update(status=GenerationChunk.Status.CANCELLED, finished_at=timezone.now())
        _close_campaign_generation(locked.campaign_id)
    return GenerationJob.objects.select_related("model").get(pk=job.pk)


def chunk_finished(job_id: int) -> None:
    """Count a succeeded chunk; the last one finishes the job (the job row is locked), any
    other sends the job's next chunk."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().get(pk=job_id)
        GenerationJob.objects.filter(pk=job_id).update(chunks_done=F("chunks_done") + 1)
        pending = job.chunks.exclude(status=GenerationChunk.Status.SUCCEEDED).exists()
        if job.status == GenerationJob.Status.RUNNING and not pending:
            job_finish(job_id, GenerationJob.Status.SUCCEEDED)
        elif job.status == GenerationJob.Status.RUNNING:
            enqueue_next_chunks(job_id, 1)


def generation_job_run(job_id: int) -> None:
    """Plan a queued job and run all its chunks in this process (tests and scripts; workers
    run each chunk as its own task)."""
    from generation.runner import generation_chunk_run

    for chunk_id in generation_job_plan(job_id, enqueue=False):
        generation_chunk_run(chunk_id)


def model_test_connection(*, model: CandidateModel) -> dict[str, Any]:
    """One tiny request to an HTTP model's server: {ok, detail, server_model, latency_ms}."""
    from generation.backends.openai_http import OpenAIBackend

    if model.backend != CandidateModel.Backend.OPENAI:
        raise DomainError("only OpenAI-compatible models have a connection to test", field="model")
    return OpenAIBackend.from_model(model, batch_size=1).test_connection()
