"""Generation jobs: start, run (on a `gpu` worker), restart after a kill, fail clearly."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
import uuid
from dataclasses import fields
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.errors import DomainError
from generation.backends import DecodingParams, GeneratedOutput, ModelLoadError, load_backend
from generation.models import CandidateModel, GenerationJob
from labeling.campaigns.selectors import campaign_prompt_texts
from labeling.campaigns.services import (
    NewItem,
    campaign_generation_finished,
    campaign_generation_started,
    existing_samples,
    items_create,
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


def _enqueue(job_id: int) -> None:
    from generation.tasks import run_generation_job

    transaction.on_commit(lambda: run_generation_job.delay(job_id))


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
    run, should it still be alive, stops at its next batch.
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
        defaults={"params": decoding.as_dict()},
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
        job.save(update_fields=["status", "error", "run_token", "heartbeat_at"])
    if campaign.status == Campaign.Status.DRAFT:
        campaign_generation_started(campaign_id=campaign.pk)
    _enqueue(job.pk)
    return job


def _claim(job_id: int) -> str | None:
    """Atomically take the job for this run; None if another live run holds it."""
    token = uuid.uuid4().hex
    stale = timezone.now() - timedelta(seconds=settings.ASSAY_JOB_STALE_SECONDS)
    claimed = (
        GenerationJob.objects.filter(pk=job_id)
        .filter(
            ~Q(status=GenerationJob.Status.RUNNING)
            | Q(heartbeat_at__isnull=True)
            | Q(heartbeat_at__lt=stale)
        )
        .exclude(status__in=[GenerationJob.Status.SUCCEEDED, GenerationJob.Status.CANCELLED])
        .update(
            status=GenerationJob.Status.RUNNING,
            run_token=token,
            heartbeat_at=timezone.now(),
            started_at=timezone.now(),
            finished_at=None,
            error="",
        )
    )
    return token if claimed else None


def _still_ours(job_id: int, token: str, **updates: Any) -> bool:
    updates.setdefault("heartbeat_at", timezone.now())
    return bool(GenerationJob.objects.filter(pk=job_id, run_token=token).update(**updates))


def _to_new_items(
    outputs: list[GeneratedOutput], prompt_ids: list[int], job: GenerationJob
) -> list[NewItem]:
    return [
        NewItem(
            prompt_id=prompt_ids[o.prompt_index],
            sample_index=o.sample_index,
            text=o.text,
            prompt_tokens=o.prompt_tokens,
            output_tokens=o.output_tokens,
            finish_reason=o.finish_reason,
            latency_ms=o.latency_ms,
            provenance={**o.provenance, "job_id": job.pk, "model_name": job.model.name},
        )
        for o in outputs
    ]


@transaction.atomic
def _finish(job: GenerationJob, token: str, status: str, error: str = "") -> None:
    """Record the outcome, and open the campaign for labeling once its last job succeeds.

    One transaction: nobody sees the job succeeded while its campaign still says generating
    (a worker killed between the two writes would otherwise leave it so).
    """
    ours = _still_ours(job.pk, token, status=status, error=error, finished_at=timezone.now())
    if ours and status == GenerationJob.Status.SUCCEEDED:
        unfinished = GenerationJob.objects.filter(campaign_id=job.campaign_id).exclude(
            status=GenerationJob.Status.SUCCEEDED
        )
        if not unfinished.exists():
            campaign_generation_finished(campaign_id=job.campaign_id)


def generation_job_run(job_id: int) -> None:
    """Generate every missing output of the job, writing items batch by batch."""
    token = _claim(job_id)
    if token is None:
        log.info("job %s is taken by a live run or already finished; nothing to do", job_id)
        return
    job = GenerationJob.objects.select_related("campaign", "model").get(pk=job_id)
    params = DecodingParams(**job.params)
    prompts = campaign_prompt_texts(job.campaign)
    total = len(prompts) * params.samples_per_prompt
    done_pairs = existing_samples(
        campaign=job.campaign, model_id=job.model_id, params_hash=job.params_hash
    )
    _still_ours(job.pk, token, total=total, done=len(done_pairs), attempts=job.attempts + 1)
    if len(done_pairs) >= total:
        _finish(job, token, GenerationJob.Status.SUCCEEDED)
        return
    try:
        backend = load_backend(
            job.model.backend,
            job.model.path,
            batch_size=settings.ASSAY_GENERATION_BATCH_SIZE,
            threads=settings.ASSAY_TORCH_THREADS,
        )
    except ModelLoadError as exc:
        _finish(job, token, GenerationJob.Status.FAILED, f"model failed to load: {exc}")
        return
    if job.model.revision != backend.revision:
        CandidateModel.objects.filter(pk=job.model_id).update(revision=backend.revision)
    _still_ours(job.pk, token, device=backend.device, dtype=backend.dtype)
    try:
        _generate_missing(job, token, backend, params, prompts, done_pairs)
    except _Superseded:
        log.warning("job %s was taken over by another run; stopping this one", job_id)
        return
    except Exception as exc:
        log.exception("generation job %s failed", job_id)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        _finish(job, token, GenerationJob.Status.FAILED, detail)
        return
    _finish(job, token, GenerationJob.Status.SUCCEEDED)


class _Superseded(Exception):
    pass


def _generate_missing(
    job: GenerationJob,
    token: str,
    backend: Any,
    params: DecodingParams,
    prompts: list[tuple[int, str]],
    done_pairs: set[tuple[int, int]],
) -> None:
    done = initial = len(done_pairs)
    started, tokens = time.monotonic(), 0
    for sample_index in range(params.samples_per_prompt):
        todo = [(pid, text) for pid, text in prompts if (pid, sample_index) not in done_pairs]
        if not todo:
            continue
        prompt_ids = [pid for pid, _ in todo]
        for batch in backend.generate([t for _, t in todo], params, sample_index=sample_index):
            done += items_create(
                campaign=job.campaign,
                model_id=job.model_id,
                params_hash=job.params_hash,
                new_items=_to_new_items(batch, prompt_ids, job),
                job_id=job.pk,
            )
            tokens += sum(o.output_tokens for o in batch)
            elapsed = max(time.monotonic() - started, 1e-6)
            if not _still_ours(
                job.pk,
                token,
                done=done,
                tokens_per_s=tokens / elapsed,
                items_per_s=(done - initial) / elapsed,
            ):
                raise _Superseded()
