"""One shard of a cleaning job on a worker: claim, score, decide, write, rename, record.

A shard is held by one run at a time (a token written by a conditional UPDATE). A succeeded
shard is never claimed again; a running one only once its heartbeat is stale (its worker died).
Each run starts by deleting what an earlier, killed run left under temporary names, writes its
three outputs under temporary names, and renames them into place only when all are complete:
the output holds each document of the shard exactly once, or the shard is not done.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from cleaning import corpus
from cleaning.models import CleaningJob, CleaningShard
from cleaning.policy import Policy, Tally, decide, mask_text
from cleaning.scoring import JobScorer
from cleaning.services import cleaning_job_fail, shard_finished

log = logging.getLogger(__name__)

EXAMPLE_CHARS = 2000
SCORE_BATCH = 256

# One loaded scorer per worker process: consecutive shards of a job reuse its models.
_scorers: dict[str, Any] = {}


class _Stopped(Exception):
    """The shard is no longer this run's (cancelled, or taken over after a stale heartbeat)."""


def policy_of(job: CleaningJob) -> Policy:
    return Policy(
        doc_thresholds={d["name"]: float(d["threshold"]) for d in job.document_classifiers},
        span_threshold=float(job.tagger["threshold"]) if job.tagger else None,
        mask_mode=job.mask_mode,
        replacement=job.replacement,
    )


def scorer_for(job: CleaningJob) -> JobScorer:
    key = f"{job.pk}:{job.document_classifiers}:{job.tagger}:{job.precision}"
    if _scorers.get("key") != key:
        _scorers.clear()
        _scorers["scorer"] = JobScorer(job.document_classifiers, job.tagger, job.precision)
        _scorers["key"] = key
    scorer: JobScorer = _scorers["scorer"]
    return scorer


def _claim(shard_id: int, worker: str) -> str | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ASSAY_JOB_STALE_SECONDS)
    claimed = (
        CleaningShard.objects.filter(pk=shard_id, job__status=CleaningJob.Status.RUNNING)
        .filter(
            Q(status=CleaningShard.Status.QUEUED)
            | Q(status=CleaningShard.Status.RUNNING, heartbeat_at__lt=stale)
        )
        .update(
            status=CleaningShard.Status.RUNNING,
            run_token=token,
            heartbeat_at=now,
            started_at=now,
            done=0,
            worker=worker[:200],
            attempts=F("attempts") + 1,
        )
    )
    return token if claimed else None


def _ours(shard_id: int, token: str) -> Any:
    return CleaningShard.objects.filter(
        pk=shard_id, run_token=token, status=CleaningShard.Status.RUNNING
    )


def _example(
    doc_id: str, text: str, decision: str, scores: dict[str, Any], spans: list[dict[str, Any]]
) -> dict[str, Any]:
    cut = text[:EXAMPLE_CHARS]
    return {
        "id": doc_id,
        "text": cut,
        "truncated": len(text) > EXAMPLE_CHARS,
        "decision": decision,
        "scores": {n: s["positive"] for n, s in scores.items()},
        "spans": [s for s in spans if s["end"] <= len(cut)],
    }


class _Outputs:
    def __init__(self, job: CleaningJob, shard: CleaningShard) -> None:
        out = Path(job.output_dir)
        stem = f"shard-{shard.index:05d}"
        corpus.discard_partial(out, stem)
        suffix = corpus.output_suffix(job.input_format)
        self.cleaned = corpus.ShardOutput(out / "cleaned" / f"{stem}{suffix}", job.input_format)
        self.removed = corpus.ShardOutput(out / "removed" / f"{stem}{suffix}", job.input_format)
        self.attributes = corpus.ShardOutput(out / "attributes" / f"{stem}.jsonl", "jsonl")
        self.all = (self.cleaned, self.removed, self.attributes)

    def commit(self) -> None:
        for o in self.all:
            o.commit()

    def discard(self) -> None:
        for o in self.all:
            o.discard()


def _process_batch(
    job: CleaningJob,
    shard: CleaningShard,
    row0: int,
    records: list[dict[str, Any]],
    scorer: JobScorer,
    policy: Policy,
    out: _Outputs,
    tally: Tally,
    rng: random.Random,
) -> None:
    valid = [
        n
        for n, r in enumerate(records)
        if "__invalid__" not in r and isinstance(r.get(job.text_field), str)
    ]
    texts = [records[n][job.text_field] for n in valid]
    scores, spans = scorer.score(texts) if texts else ([], [])
    by_row = {n: k for k, n in enumerate(valid)}
    cleaned, removed, attrs = [], [], []
    for n, record in enumerate(records):
        row = row0 + n
        doc_id = str(record.get(job.id_field, f"row-{row}"))
        if n not in by_row:
            reason = record.get("__invalid__") or f"no text in field {job.text_field!r}"
            tally.counts["invalid"] = tally.counts.get("invalid", 0) + 1
            removed.append({"__invalid__": reason, "__row__": row})
            attrs.append({"id": doc_id, "row": row, "decision": "invalid", "reason": reason})
            continue
        k = by_row[n]
        text = texts[k]
        doc_scores = {name: s["positive"] for name, s in scores[k].items()}
        decision, removed_by = decide(doc_scores, spans[k], policy)
        tally.bytes_in += len(text.encode())
        if decision == "remove":
            removed.append(record)
        else:
            new_text = mask_text(text, spans[k], policy) if decision == "mask" else text
            tally.bytes_out += len(new_text.encode())
            cleaned.append({**record, job.text_field: new_text})
        attrs.append(
            {
                "id": doc_id,
                "row": row,
                "decision": decision,
                "removed_by": removed_by,
                "scores": scores[k],
                "spans": spans[k],
            }
        )
        tally.add(
            decision=decision,
            removed_by=removed_by,
            doc_scores=doc_scores,
            spans=spans[k],
            example=partial(_example, doc_id, text, decision, scores[k], spans[k]),
            rng=rng,
        )
    out.cleaned.write(cleaned)
    out.removed.write(removed)
    out.attributes.write(attrs)


def _run(shard: CleaningShard, token: str) -> dict[str, Any]:
    job = shard.job
    scorer = scorer_for(job)
    # Loading the models can take a while on a busy machine: say so before the first batch.
    if not _ours(shard.pk, token).update(heartbeat_at=timezone.now()):
        raise _Stopped()
    policy = policy_of(job)
    tally, rng = Tally(), random.Random(f"{job.pk}:{shard.index}")
    out = _Outputs(job, shard)
    try:
        row = shard.start
        path = Path(job.input_path)
        for batch in corpus.read_rows(
            path, job.input_format, shard.start, shard.end, shard.byte_offset
        ):
            # A heartbeat per SCORE_BATCH documents: far inside the stale limit even for a
            # transformer on a busy CPU.
            for lo in range(0, len(batch), SCORE_BATCH):
                records = batch[lo : lo + SCORE_BATCH]
                _process_batch(job, shard, row, records, scorer, policy, out, tally, rng)
                row += len(records)
                if not _ours(shard.pk, token).update(
                    done=row - shard.start, heartbeat_at=timezone.now()
                ):
                    raise _Stopped()
        if row != shard.end:
            raise ValueError(f"the corpus ended at row {row}; the shard ends at {shard.end}")
        out.commit()
    except BaseException:
        out.discard()
        raise
    return tally.as_dict()


def shard_run(shard_id: int, worker: str = "") -> None:
    """Clean the shard's rows and write its outputs; the last shard sends the finalizer."""
    pending = (
        CleaningShard.objects.select_related("job")
        .filter(pk=shard_id, job__status=CleaningJob.Status.RUNNING)
        .exclude(status=CleaningShard.Status.SUCCEEDED)
        .first()
    )
    if pending is None:
        return
    try:
        # The models load before the claim: a slow load never looks like a dead worker.
        scorer_for(pending.job)
    except Exception as exc:
        log.exception("cleaning shard %s: the classifiers failed to load", shard_id)
        cleaning_job_fail(pending.job_id, f"the classifiers failed to load: {exc}")
        return
    token = _claim(shard_id, worker)
    if token is None:
        log.info("cleaning shard %s is done, held by a live run, or its job stopped", shard_id)
        return
    shard = CleaningShard.objects.select_related("job").get(pk=shard_id)
    started = time.monotonic()
    try:
        stats = _run(shard, token)
    except _Stopped:
        log.warning("cleaning shard %s was taken over or cancelled; leaving it", shard_id)
        return
    except Exception as exc:
        log.exception("cleaning shard %s failed", shard_id)
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if _ours(shard_id, token).update(
            status=CleaningShard.Status.FAILED, error=error, finished_at=timezone.now()
        ):
            cleaning_job_fail(shard.job_id, f"shard {shard.index}: {error}")
        return
    stats["seconds"] = round(time.monotonic() - started, 3)
    stats["precision"] = scorer_for(shard.job).effective
    if _ours(shard_id, token).update(
        status=CleaningShard.Status.SUCCEEDED,
        stats=stats,
        done=shard.total,
        finished_at=timezone.now(),
    ):
        shard_finished(shard.job_id)
