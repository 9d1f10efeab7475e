"""One chunk of a generation job on a `gpu` worker: claim, generate what is missing, record.

A chunk is held by one run at a time (a token written by a conditional UPDATE); a run whose
chunk was cancelled, failed by a sibling or replaced by a new plan notices at its next batch
and stops. Outputs are written batch by batch and never twice: the chunk skips pairs already
stored, and the items' unique (prompt, model, params hash, sample) keeps any duplicate out.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from generation.backends import Backend, DecodingParams, GeneratedOutput, ModelLoadError
from generation.backends import load_backend as _load_backend
from generation.models import CandidateModel, GenerationChunk, GenerationJob
from generation.services import chunk_finished, job_finish, output_key
from labeling.campaigns.selectors import campaign_prompt_texts
from labeling.campaigns.services import NewItem, existing_samples, items_create

log = logging.getLogger(__name__)

# One loaded model per worker process: consecutive chunks of a job reuse it.
_loaded: dict[str, Any] = {}


class _Stopped(Exception):
    """The chunk is no longer this run's (cancelled, replaced, or its job failed)."""


def _backend_for(model: CandidateModel) -> Backend:
    key = f"{model.pk}:{model.backend}:{model.path}:{settings.ASSAY_GENERATION_BATCH_SIZE}"
    if _loaded.get("key") != key:
        _loaded.clear()  # free the previous model before loading the next
        _loaded["backend"] = _load_backend_for(model)
        _loaded["key"] = key
    backend: Backend = _loaded["backend"]
    return backend


def _load_backend_for(model: CandidateModel) -> Backend:
    if model.backend == CandidateModel.Backend.OPENAI:
        from generation.backends.openai_http import OpenAIBackend

        http = OpenAIBackend.from_model(model, batch_size=settings.ASSAY_GENERATION_BATCH_SIZE)
        http.check_key()
        return http
    return _load_backend(
        model.backend,
        model.path,
        batch_size=settings.ASSAY_GENERATION_BATCH_SIZE,
        threads=settings.ASSAY_TORCH_THREADS,
        lend_idle_cores=settings.ASSAY_LEND_IDLE_CORES,
        engine_args=_vllm_engine_args() if model.backend == CandidateModel.Backend.VLLM else None,
    )


def _vllm_engine_args() -> dict[str, Any]:
    try:
        value = json.loads(settings.ASSAY_VLLM_ENGINE_ARGS or "{}")
    except ValueError as exc:
        raise ModelLoadError(f"ASSAY_VLLM_ENGINE_ARGS is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ModelLoadError("ASSAY_VLLM_ENGINE_ARGS must be a JSON object")
    return value


def _claim(chunk_id: int) -> str | None:
    """Take the chunk for this run: queued, or running with a stale heartbeat (its worker
    died); only while its job runs. None when another live run holds it or it is over."""
    token = uuid.uuid4().hex
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ASSAY_JOB_STALE_SECONDS)
    claimed = (
        GenerationChunk.objects.filter(pk=chunk_id, job__status=GenerationJob.Status.RUNNING)
        .filter(
            Q(status=GenerationChunk.Status.QUEUED)
            | Q(status=GenerationChunk.Status.RUNNING, heartbeat_at__lt=stale)
        )
        .update(
            status=GenerationChunk.Status.RUNNING,
            run_token=token,
            heartbeat_at=now,
            started_at=now,
            attempts=F("attempts") + 1,
        )
    )
    return token if claimed else None


def _ours(chunk_id: int, token: str) -> Any:
    return GenerationChunk.objects.filter(
        pk=chunk_id, run_token=token, status=GenerationChunk.Status.RUNNING
    )


def _record_batch(chunk: GenerationChunk, token: str, stored: int, tokens: int) -> None:
    """Progress after a batch: the chunk's, then the job's, aggregated over its chunks."""
    now = timezone.now()
    with transaction.atomic():
        ours = _ours(chunk.pk, token).update(
            done=F("done") + stored,
            generated=F("generated") + stored,
            tokens=F("tokens") + tokens,
            heartbeat_at=now,
        )
        job = GenerationJob.objects.filter(pk=chunk.job_id)
        # Counted even when the chunk was taken away: the rows were stored all the same.
        job.update(done=F("done") + stored)
        if ours:
            sums = GenerationChunk.objects.filter(job_id=chunk.job_id).aggregate(
                generated=Sum("generated"), tokens=Sum("tokens")
            )
            started = job.values_list("started_at", flat=True).first() or now
            elapsed = max((now - started).total_seconds(), 1e-6)
            job.filter(status=GenerationJob.Status.RUNNING).update(
                heartbeat_at=now,
                items_per_s=(sums["generated"] or 0) / elapsed,
                tokens_per_s=(sums["tokens"] or 0) / elapsed,
            )
    if not ours:
        raise _Stopped()


def _to_new_items(
    outputs: list[GeneratedOutput], prompts: list[tuple[int, str]], job: GenerationJob
) -> list[NewItem]:
    params = DecodingParams(**job.params)
    rows = []
    for o in outputs:
        prompt_id, text = prompts[o.prompt_index]
        key = output_key(
            model=job.model, prompt_text=text, params=params, sample_index=o.sample_index
        )
        provenance = {
            **o.provenance,
            "job_id": job.pk,
            "model_name": job.model.name,
            "idempotency_key": key,
        }
        rows.append(
            NewItem(
                prompt_id=prompt_id,
                sample_index=o.sample_index,
                text=o.text,
                prompt_tokens=o.prompt_tokens,
                output_tokens=o.output_tokens,
                finish_reason=o.finish_reason,
                latency_ms=o.latency_ms,
                provenance=provenance,
            )
        )
    return rows


def _todo(chunk: GenerationChunk) -> dict[int, list[tuple[int, str]]]:
    """Per sample index, the (prompt id, text) pairs of the chunk not stored yet."""
    job = chunk.job
    prompt_ids = sorted({pid for pid, _ in chunk.pairs})
    texts = dict(campaign_prompt_texts(job.campaign, prompt_ids))
    stored = existing_samples(
        campaign=job.campaign,
        model_id=job.model_id,
        params_hash=job.params_hash,
        prompt_ids=prompt_ids,
    )
    todo: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pid, sample in chunk.pairs:
        # A prompt deleted since the plan has nothing left to answer.
        if (pid, sample) not in stored and pid in texts:
            todo[sample].append((pid, texts[pid]))
    return todo


def _generate(chunk: GenerationChunk, token: str, backend: Backend) -> None:
    job = chunk.job
    params = DecodingParams(**job.params)
    todo = _todo(chunk)
    already = chunk.total - sum(len(v) for v in todo.values())
    _ours(chunk.pk, token).update(done=already)
    for sample_index, prompts in sorted(todo.items()):
        texts = [text for _, text in prompts]
        for batch in backend.generate(texts, params, sample_index=sample_index):
            stored = items_create(
                campaign=job.campaign,
                model_id=job.model_id,
                params_hash=job.params_hash,
                new_items=_to_new_items(batch, prompts, job),
                job_id=job.pk,
            )
            _record_batch(chunk, token, stored, sum(o.output_tokens for o in batch))


def _fail(chunk: GenerationChunk, token: str, error: str) -> None:
    with transaction.atomic():
        if _ours(chunk.pk, token).update(
            status=GenerationChunk.Status.FAILED, error=error, finished_at=timezone.now()
        ):
            # One failed chunk fails the job: its siblings would meet the same cause.
            job_finish(chunk.job_id, GenerationJob.Status.FAILED, error)


def generation_chunk_run(chunk_id: int) -> None:
    """Generate the chunk's missing outputs, batch by batch; finish the job if it was last."""
    token = _claim(chunk_id)
    if token is None:
        log.info("chunk %s is taken by a live run, finished, or its job stopped", chunk_id)
        return
    chunk = GenerationChunk.objects.select_related("job__campaign", "job__model").get(pk=chunk_id)
    job = chunk.job
    try:
        backend = _backend_for(job.model)
    except ModelLoadError as exc:
        _fail(chunk, token, f"model failed to load: {exc}")
        return
    if job.model.revision != backend.revision and backend.revision:
        CandidateModel.objects.filter(pk=job.model_id).update(revision=backend.revision)
    GenerationJob.objects.filter(pk=job.pk).update(device=backend.device, dtype=backend.dtype)
    started = time.monotonic()
    try:
        _generate(chunk, token, backend)
    except _Stopped:
        log.warning("chunk %s of job %s was stopped; leaving it", chunk_id, job.pk)
        return
    except Exception as exc:
        log.exception("chunk %s of generation job %s failed", chunk_id, job.pk)
        _fail(chunk, token, "".join(traceback.format_exception_only(type(exc), exc)).strip())
        return
    with transaction.atomic():
        finished = _ours(chunk_id, token).update(
            status=GenerationChunk.Status.SUCCEEDED, finished_at=timezone.now()
        )
    if finished:
        log.info("chunk %s of job %s done in %.1fs", chunk_id, job.pk, time.monotonic() - started)
        chunk_finished(job.pk)
