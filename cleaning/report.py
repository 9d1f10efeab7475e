"""The finalizer (the report and datasheet of a finished job) and the preview's scored sample."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from cleaning import corpus
from cleaning.models import CleaningJob, CleaningShard
from cleaning.policy import BINS, merge_tallies
from cleaning.runner import EXAMPLE_CHARS, scorer_for
from cleaning.services import cleaning_job_fail

log = logging.getLogger(__name__)

PREVIEW_DOCS = 200


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
    os.replace(tmp, path)


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("assay", "scikit-learn", "torch", "transformers", "pyarrow", "datasets"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def _precisions(job: CleaningJob) -> dict[str, list[str]]:
    seen: dict[str, set[str]] = {}
    for stats in job.shards.values_list("stats", flat=True):
        for name, precision in ((stats or {}).get("precision") or {}).items():
            seen.setdefault(name, set()).add(str(precision))
    return {name: sorted(values) for name, values in sorted(seen.items())}


def build_datasheet(job: CleaningJob, report: dict[str, Any]) -> dict[str, Any]:
    return {
        "job": job.pk,
        "name": job.name,
        "created_at": job.created_at.isoformat(),
        "finished_at": timezone.now().isoformat(),
        "input": {
            "path": Path(job.input_path).name if job.uploaded else job.input_path,
            "uploaded": job.uploaded,
            "format": job.input_format,
            "sha256": job.input_sha256,
            "bytes": job.input_bytes,
            "documents": job.total_docs,
            "text_field": job.text_field,
            "id_field": job.id_field,
        },
        "classifiers": {
            "document": [
                {k: d[k] for k in ("version", "name", "target", "backend", "threshold", "positive")}
                for d in job.document_classifiers
            ],
            "tagger": job.tagger,
            "precision_requested": job.precision,
            # Per version, what its shards were scored with (a GPU worker, or a backend
            # without int8, scores at full precision whatever the job asked).
            "precision": _precisions(job),
        },
        "policy": {
            "remove": "a document whose P(positive) from any document classifier is at or "
            "above that classifier's threshold",
            "mask": "spans of kept documents scored at or above the tagger's threshold",
            "mask_mode": job.mask_mode,
            "replacement": job.replacement if job.mask_mode == "replace" else "",
        },
        "counts": report["counts"],
        "shards": job.shards_total,
        "outputs": {
            "cleaned": f"cleaned/shard-NNNNN{corpus.output_suffix(job.input_format)}",
            "removed": f"removed/shard-NNNNN{corpus.output_suffix(job.input_format)}",
            "attributes": "attributes/shard-NNNNN.jsonl (every score and span, per document)",
        },
        "libraries": _library_versions(),
    }


def cleaning_job_finalize(job_id: int) -> bool:
    """Merge the shards' tallies into the report, write report.json and datasheet.json, and
    mark the job succeeded; safe to run twice (the second finds the job finished)."""
    job = CleaningJob.objects.filter(pk=job_id).first()
    if job is None or job.status != CleaningJob.Status.RUNNING:
        return False
    shards = list(job.shards.order_by("index"))
    if any(s.status != CleaningShard.Status.SUCCEEDED for s in shards):
        return False
    merged = merge_tallies([s.stats or {} for s in shards], seed=job.pk)
    seconds = [float((s.stats or {}).get("seconds", 0.0)) for s in shards]
    wall = (timezone.now() - job.started_at).total_seconds() if job.started_at else None
    report = {
        **merged,
        "documents": job.total_docs,
        "bins": BINS,
        "shard_seconds": round(sum(seconds), 3),
        "wall_seconds": round(wall, 3) if wall else None,
        "docs_per_s": round(job.total_docs / wall, 2) if wall else None,
    }
    datasheet = build_datasheet(job, report)
    out = Path(job.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "report.json", report)
    _write_json(out / "datasheet.json", datasheet)
    with transaction.atomic():
        return bool(
            CleaningJob.objects.filter(pk=job_id, status=CleaningJob.Status.RUNNING).update(
                status=CleaningJob.Status.SUCCEEDED,
                report=report,
                datasheet=datasheet,
                done_docs=job.total_docs,
                finished_at=timezone.now(),
            )
        )


def cleaning_job_preview(job_id: int) -> None:
    """Score the corpus's first documents so the page can try thresholds on them."""
    job = CleaningJob.objects.filter(pk=job_id, status=CleaningJob.Status.PREVIEWING).first()
    if job is None:
        return
    try:
        rows = corpus.sample_rows(Path(job.input_path), job.input_format, PREVIEW_DOCS)
        rows = [r for r in rows if isinstance(r.get(job.text_field), str)]
        texts = [r[job.text_field] for r in rows]
        scores, spans = scorer_for(job).score(texts) if texts else ([], [])
    except Exception as exc:
        log.exception("preview of cleaning job %s failed", job_id)
        cleaning_job_fail(job_id, f"the preview failed: {exc}")
        return
    sample = [
        {
            "id": str(r.get(job.id_field, n)),
            "text": t[:EXAMPLE_CHARS],
            "scores": {name: s["positive"] for name, s in scores[n].items()},
            "spans": [s for s in spans[n] if s["end"] <= EXAMPLE_CHARS],
        }
        for n, (r, t) in enumerate(zip(rows, texts, strict=True))
    ]
    CleaningJob.objects.filter(pk=job_id, status=CleaningJob.Status.PREVIEWING).update(
        preview=sample, status=CleaningJob.Status.DRAFT
    )
