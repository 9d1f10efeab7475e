"""Cleaning jobs: create (checking every input), preview, plan into shards, resume, cancel.

The shards of a job run as a Celery chord: a group of shard tasks, and a finalizer that the
last shard to succeed sends (counted under the job's row lock, so the filesystem broker needs
no result backend). A shard whose worker died holds a heartbeat that goes stale; the sweep
(sent with a countdown while the job runs, and by `cleaning_job_resume`) sends it again, and
its next run discards the partial outputs before starting.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from classifiers.models import ClassifierVersion, TrainingRun
from cleaning import corpus
from cleaning.models import CleaningJob, CleaningShard
from core.errors import DomainError
from labeling.access import ADMIN, campaign_role
from labeling.quality.selectors import positive_values

log = logging.getLogger(__name__)

TAGGER_KINDS = ("tagger", "span_tagger", "spans")


def cleaning_root() -> Path:
    return Path(settings.ASSAY_CLEANING_ROOT).resolve()


def output_root() -> Path:
    return Path(settings.ASSAY_CLEANING_OUTPUT_DIR).resolve()


def resolve_input_path(raw: str) -> Path:
    """A path under ASSAY_CLEANING_ROOT (relative to it, or absolute inside it); symlinks are
    followed before the check, so none leads out."""
    if not raw or "\0" in raw:
        raise DomainError("give a path", field="path")
    root = cleaning_root()
    candidate = Path(raw)
    path = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not path.is_relative_to(root):
        raise DomainError(
            f"the path must be inside the cleaning root ({root})", field="path", code="outside_root"
        )
    if not path.exists():
        raise DomainError("no such file or folder under the cleaning root", field="path")
    return path


def _first_row_fields(path: Path, fmt: str) -> set[str] | None:
    """The fields of the corpus (first record, or the schema); None when it cannot tell."""
    if fmt == "hf":
        info = path / "dataset_info.json"
        if info.exists():
            features = json.loads(info.read_text()).get("features") or {}
            return set(features) if isinstance(features, dict) else None
        return None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return set(pq.read_schema(path).names)
        except Exception as exc:
            raise DomainError(f"not a Parquet file: {exc}", field="path") from exc
    try:
        rows = corpus.sample_rows(path, fmt, 1)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DomainError(f"the file cannot be read as {fmt}: {exc}", field="path") from exc
    if not rows:
        raise DomainError("the corpus has no documents", field="path")
    if "__invalid__" in rows[0]:
        raise DomainError(f"the corpus is not JSONL: {rows[0]['__invalid__']}", field="path")
    return set(rows[0])


def _check_fields(path: Path, fmt: str, text_field: str, id_field: str) -> None:
    fields = _first_row_fields(path, fmt)
    if fields is None:
        return
    for name, value in (("text_field", text_field), ("id_field", id_field)):
        if value not in fields:
            known = ", ".join(sorted(fields)[:20])
            raise DomainError(f"the corpus has no field {value!r} (it has: {known})", field=name)


def _version_kind(version: ClassifierVersion) -> str:
    kind = getattr(version, "kind", None) or getattr(version.run, "kind", None) or "document"
    return "tagger" if str(kind) in TAGGER_KINDS else "document"


def _threshold(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DomainError("the threshold must be a number between 0 and 1", field=field)
    t = float(value)
    if not 0.0 <= t <= 1.0 or t != t:
        raise DomainError("the threshold must be between 0 and 1", field=field)
    return t


def _usable_version(user: User, version_id: Any, field: str) -> ClassifierVersion:
    if isinstance(version_id, bool) or not isinstance(version_id, int):
        raise DomainError("give a classifier version id", field=field)
    version = (
        ClassifierVersion.objects.select_related("run", "campaign__rubric")
        .filter(pk=version_id)
        .first()
    )
    # A version of a campaign the user does not administer is as good as absent.
    if version is None or campaign_role(user, version.campaign) != ADMIN:
        raise DomainError("no such classifier version", field=field, code="not_found")
    if version.run.status != TrainingRun.Status.SUCCEEDED or not version.run.artifact_path:
        raise DomainError("this classifier version has no trained model", field=field)
    return version


def _is_transformer(version: ClassifierVersion) -> bool:
    return "transformer" in str(version.run.backend)


def classifiers_config(
    user: User, document: list[dict[str, Any]], tagger: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str]:
    """The job's classifier settings, checked: (document, tagger, queue)."""
    if not document and not tagger:
        raise DomainError("choose at least one classifier", field="document_classifiers")
    docs, names, gpu = [], set(), False
    for n, entry in enumerate(document):
        field = f"document_classifiers[{n}]"
        version = _usable_version(user, entry.get("version"), f"{field}.version")
        if _version_kind(version) != "document":
            raise DomainError("this version is a span tagger", field=f"{field}.version")
        if version.name in names:
            raise DomainError("this version is chosen twice", field=f"{field}.version")
        names.add(version.name)
        gpu = gpu or _is_transformer(version)
        docs.append(
            {
                "version": version.pk,
                "name": version.name,
                "target": version.target,
                "campaign": version.campaign_id,
                "backend": version.run.backend,
                "threshold": _threshold(entry.get("threshold", 0.5), f"{field}.threshold"),
                "positive": positive_values(version.campaign, version.target),
            }
        )
    tag = None
    if tagger:
        version = _usable_version(user, tagger.get("version"), "tagger.version")
        if _version_kind(version) != "tagger":
            raise DomainError("this version is a document classifier", field="tagger.version")
        gpu = gpu or _is_transformer(version)
        tag = {
            "version": version.pk,
            "name": version.name,
            "campaign": version.campaign_id,
            "backend": version.run.backend,
            "threshold": _threshold(tagger.get("threshold", 0.5), "tagger.threshold"),
        }
    return docs, tag, ("gpu" if gpu else "default")


def _store_upload(upload: UploadedFile) -> Path:
    name = Path(upload.name or "corpus.jsonl").name.replace("\0", "") or "corpus.jsonl"
    folder = output_root() / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return path


def cleaning_job_create(
    *,
    user: User,
    name: str,
    text_field: str,
    id_field: str,
    document_classifiers: list[dict[str, Any]],
    tagger: dict[str, Any] | None = None,
    path: str | None = None,
    upload: UploadedFile | None = None,
    mask_mode: str = "replace",
    replacement: str = "[REDACTED:{label}]",
    shard_size: int | None = None,
    precision: str = "fp32",
    start: bool = True,
) -> CleaningJob:
    """A job over a corpus on the workers' storage or uploaded; everything is checked before
    the row is written. start=False scores a sample first (the page's preview); start later."""
    if (path is None) == (upload is None):
        raise DomainError("give either a path or an uploaded file", field="path")
    docs, tag, queue = classifiers_config(user, document_classifiers, tagger)
    stored = _store_upload(upload) if upload is not None else resolve_input_path(path or "")
    try:
        fmt = corpus.detect_format(stored)
        _check_fields(stored, fmt, text_field, id_field)
    except DomainError:
        if upload is not None:
            shutil.rmtree(stored.parent, ignore_errors=True)
        raise
    job = CleaningJob.objects.create(
        owner=user,
        name=name or stored.name,
        status=CleaningJob.Status.QUEUED if start else CleaningJob.Status.PREVIEWING,
        input_path=str(stored),
        input_format=fmt,
        uploaded=upload is not None,
        text_field=text_field,
        id_field=id_field,
        document_classifiers=docs,
        tagger=tag,
        mask_mode=mask_mode,
        replacement=replacement,
        queue=queue,
        shard_size=shard_size or settings.ASSAY_CLEANING_SHARD_SIZE,
        precision=precision,
    )
    job.output_dir = str(output_root() / f"job-{job.pk}")
    job.save(update_fields=["output_dir"])
    _send(job, "plan" if start else "preview")
    return job


def _send(job: CleaningJob, what: str, countdown: int | None = None) -> None:
    from cleaning import tasks

    task = {"plan": tasks.plan_job, "preview": tasks.preview_job, "sweep": tasks.sweep_job}[what]
    job_id, queue = job.pk, job.queue
    options: dict[str, Any] = {"queue": queue}
    if countdown:
        options["countdown"] = countdown
    transaction.on_commit(lambda: task.apply_async((job_id,), **options))


@transaction.atomic
def cleaning_job_start(
    *, job: CleaningJob, thresholds: dict[str, Any] | None = None
) -> CleaningJob:
    """Start a previewed job, with the thresholds the admin settled on."""
    locked = CleaningJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in (CleaningJob.Status.DRAFT, CleaningJob.Status.PREVIEWING):
        raise DomainError("this job has started already", code="job_started", status_code=409)
    thresholds = thresholds or {}
    docs = list(locked.document_classifiers)
    unknown = set(thresholds) - {d["name"] for d in docs} - ({"tagger"} if locked.tagger else set())
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError(f"no classifier {name!r} in this job", field=f"thresholds.{name}")
    for d in docs:
        if d["name"] in thresholds:
            d["threshold"] = _threshold(thresholds[d["name"]], f"thresholds.{d['name']}")
    tagger = dict(locked.tagger) if locked.tagger else None
    if tagger and "tagger" in thresholds:
        tagger["threshold"] = _threshold(thresholds["tagger"], "thresholds.tagger")
    locked.document_classifiers, locked.tagger = docs, tagger
    locked.status = CleaningJob.Status.QUEUED
    locked.save(update_fields=["document_classifiers", "tagger", "status"])
    _send(locked, "plan")
    return locked


def cleaning_job_plan(job_id: int) -> list[int]:
    """Split a queued job into shards (once: a job's shards are never re-planned) and send them
    as a group; returns the ids sent."""
    now = timezone.now()
    taken = CleaningJob.objects.filter(pk=job_id, status=CleaningJob.Status.QUEUED).update(
        status=CleaningJob.Status.RUNNING, started_at=now, error=""
    )
    if not taken:
        return []
    job = CleaningJob.objects.get(pk=job_id)
    path = Path(job.input_path)
    try:
        digest, size = corpus.input_sha256(path)
        total, plans = corpus.plan_shards(path, job.input_format, job.shard_size)
    except (OSError, ValueError) as exc:
        cleaning_job_fail(job_id, f"the corpus cannot be read: {exc}")
        return []
    with transaction.atomic():
        if not job.shards.exists():
            CleaningShard.objects.bulk_create(
                CleaningShard(job=job, index=n, start=p.start, end=p.end, byte_offset=p.byte_offset)
                for n, p in enumerate(plans)
            )
        CleaningJob.objects.filter(pk=job_id).update(
            input_sha256=digest,
            input_bytes=size,
            total_docs=total,
            shards_total=job.shards.count(),
        )
    if total == 0:
        cleaning_job_fail(job_id, "the corpus has no documents")
        return []
    ids = send_shards(job_id, job.shards.filter(status=CleaningShard.Status.QUEUED))
    _send(job, "sweep", countdown=settings.ASSAY_JOB_STALE_SECONDS)
    return ids


def send_shards(job_id: int, shards: Any) -> list[int]:
    """Send these shards' tasks as one group; `enqueued_at` says when."""
    from celery import group

    from cleaning.tasks import run_shard

    queue = CleaningJob.objects.values_list("queue", flat=True).get(pk=job_id)
    ids = list(shards.order_by("index").values_list("pk", flat=True))
    CleaningShard.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    if ids:
        sigs = [run_shard.si(i).set(queue=queue) for i in ids]
        transaction.on_commit(lambda: group(sigs).apply_async())
    return ids


def stale_shards(job_id: int) -> Any:
    """Shards whose run died (a stale heartbeat), or that were never sent. A queued shard that
    was sent waits its turn in the broker: sending it again would only add a duplicate."""
    stale = timezone.now() - timedelta(seconds=settings.ASSAY_JOB_STALE_SECONDS)
    return CleaningShard.objects.filter(job_id=job_id).filter(
        Q(status=CleaningShard.Status.RUNNING, heartbeat_at__lt=stale)
        | Q(status=CleaningShard.Status.QUEUED, enqueued_at__isnull=True)
    )


def resend_stale(job_id: int) -> int:
    """Send again the shards of a running job that died or were never sent; when all have
    succeeded and no report exists, send the finalizer. Safe to call at any time."""
    job = CleaningJob.objects.filter(pk=job_id).first()
    if job is None or job.status != CleaningJob.Status.RUNNING:
        return 0
    sent = send_shards(job_id, stale_shards(job_id))
    if sent:
        log.warning("cleaning job %s: sent %d dead or lost shard(s) again", job_id, len(sent))
    if not job.shards.exclude(status=CleaningShard.Status.SUCCEEDED).exists():
        _send_finalize(job_id)
    return len(sent)


def cleaning_job_sweep(job_id: int) -> int:
    """The sweep task's body: resend_stale, then look again later while the job runs (the
    filesystem broker never hands a killed worker's task to another worker)."""
    sent = resend_stale(job_id)
    job = CleaningJob.objects.filter(pk=job_id).first()
    if job is not None and job.status == CleaningJob.Status.RUNNING:
        _send(job, "sweep", countdown=settings.ASSAY_JOB_STALE_SECONDS)
    return sent


@transaction.atomic
def cleaning_job_resume(*, job: CleaningJob) -> CleaningJob:
    """Take up a job whose workers died: failed or stale shards run again; succeeded shards
    are kept. A job that never started is planned."""
    locked = CleaningJob.objects.select_for_update().get(pk=job.pk)
    if locked.status == CleaningJob.Status.SUCCEEDED:
        raise DomainError("this job has finished", code="job_finished", status_code=409)
    if locked.status in (CleaningJob.Status.PREVIEWING, CleaningJob.Status.DRAFT):
        raise DomainError("start the job first", code="job_not_started", status_code=409)
    if not locked.shards.exists():
        locked.status = CleaningJob.Status.QUEUED
        locked.save(update_fields=["status"])
        _send(locked, "plan")
        return locked
    locked.shards.filter(
        status__in=[CleaningShard.Status.FAILED, CleaningShard.Status.CANCELLED]
    ).update(status=CleaningShard.Status.QUEUED, error="", enqueued_at=None)
    locked.status, locked.error, locked.finished_at = CleaningJob.Status.RUNNING, "", None
    locked.save(update_fields=["status", "error", "finished_at"])
    send_shards(locked.pk, stale_shards(locked.pk))
    _send(locked, "sweep", countdown=settings.ASSAY_JOB_STALE_SECONDS)
    return locked


@transaction.atomic
def cleaning_job_cancel(*, job: CleaningJob) -> CleaningJob:
    locked = CleaningJob.objects.select_for_update().get(pk=job.pk)
    if locked.status == CleaningJob.Status.SUCCEEDED:
        raise DomainError("this job has finished", code="job_finished", status_code=409)
    locked.status, locked.finished_at = CleaningJob.Status.CANCELLED, timezone.now()
    locked.save(update_fields=["status", "finished_at"])
    locked.shards.filter(
        status__in=[CleaningShard.Status.QUEUED, CleaningShard.Status.RUNNING]
    ).update(status=CleaningShard.Status.CANCELLED)
    return locked


def cleaning_job_fail(job_id: int, error: str) -> None:
    with transaction.atomic():
        CleaningJob.objects.filter(
            pk=job_id,
            status__in=[
                CleaningJob.Status.RUNNING,
                CleaningJob.Status.QUEUED,
                CleaningJob.Status.PREVIEWING,
            ],
        ).update(status=CleaningJob.Status.FAILED, error=error, finished_at=timezone.now())


def _send_finalize(job_id: int) -> None:
    """The finalizer goes to the job's queue: a `gpu`-only job may have no `default` worker."""
    from cleaning.tasks import finalize_job

    queue = CleaningJob.objects.values_list("queue", flat=True).get(pk=job_id)
    transaction.on_commit(lambda: finalize_job.apply_async((job_id,), queue=queue))


def shard_finished(job_id: int) -> None:
    """Count a succeeded shard; the last one sends the finalizer (the chord's callback)."""
    with transaction.atomic():
        job = CleaningJob.objects.select_for_update().get(pk=job_id)
        done = job.shards.filter(status=CleaningShard.Status.SUCCEEDED).count()
        CleaningJob.objects.filter(pk=job_id).update(shards_done=done)
        if job.status == CleaningJob.Status.RUNNING and done == job.shards_total:
            _send_finalize(job_id)
    # A sibling whose worker died is sent again as soon as any shard finishes.
    if stale_shards(job_id).filter(status=CleaningShard.Status.RUNNING).exists():
        send_shards(job_id, stale_shards(job_id).filter(status=CleaningShard.Status.RUNNING))
