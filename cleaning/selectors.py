"""Reads: a user's jobs (others' are absent, so their ids answer 404), and a job's outputs."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce

from classifiers.models import ClassifierVersion, TrainingRun
from cleaning.models import CleaningJob, CleaningShard
from labeling import access


def jobs_of(user: User) -> QuerySet[CleaningJob]:
    return (
        CleaningJob.objects.filter(owner=user)
        .defer("preview", "report", "datasheet")
        .annotate(live_done=Coalesce(Sum("shards__done"), 0))
        .order_by("-id")
    )


def job_of(user: User, pk: int) -> CleaningJob | None:
    return (
        CleaningJob.objects.filter(owner=user, pk=pk)
        .annotate(live_done=Coalesce(Sum("shards__done"), 0))
        .prefetch_related(Prefetch("shards", CleaningShard.objects.order_by("index")))
        .first()
    )


def output_files(job: CleaningJob) -> list[tuple[str, int]]:
    """(path relative to the job's folder, bytes) of every finished output; temporary names of
    a run in progress are left out."""
    root = Path(job.output_dir)
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            out.append((str(rel), p.stat().st_size))
    return out


def usable_versions(user: User) -> QuerySet[ClassifierVersion]:
    """Trained classifier versions of the campaigns the user administers (all, for superusers):
    the ones a cleaning job of theirs may use."""
    qs = ClassifierVersion.objects.filter(run__status=TrainingRun.Status.SUCCEEDED).exclude(
        run__artifact_path=""
    )
    if not user.is_superuser:
        qs = qs.filter(campaign__in=access.campaigns_with_role(user, (access.ADMIN,)))
    return (
        qs.select_related("campaign")
        .only(
            "id",
            "name",
            "target",
            "is_active",
            "campaign__name",
            "run__kind",
            "run__backend",
            "run__classes",
        )
        .select_related("run")
        .order_by("-id")
    )
