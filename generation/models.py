from __future__ import annotations

from django.db import models
from django.db.models import Q

from labeling.models import Campaign


class CandidateModel(models.Model):
    class Backend(models.TextChoices):
        TRANSFORMERS = "transformers"
        IMPORTED = "imported"  # outputs brought from elsewhere; nothing to run

    name = models.CharField(max_length=200, unique=True)
    backend = models.CharField(max_length=32, choices=Backend.choices)
    path = models.CharField(
        max_length=1000, blank=True, help_text="Local folder, or a .gguf file, on the worker"
    )
    revision = models.CharField(
        max_length=128, blank=True, help_text="Commit or content hash; filled in on first load"
    )
    default_decoding = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(backend__in=["transformers", "imported"]), name="model_backend_valid"
            ),
            models.CheckConstraint(
                condition=Q(backend="imported") | ~Q(path=""), name="model_path_for_backend"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GenerationJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="generation_jobs")
    model = models.ForeignKey(CandidateModel, on_delete=models.PROTECT, related_name="jobs")
    params = models.JSONField(help_text="temperature, top_p, max_new_tokens, seed, samples")
    params_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    device = models.CharField(max_length=64, blank=True)
    dtype = models.CharField(max_length=32, blank=True)
    tokens_per_s = models.FloatField(null=True, blank=True)
    items_per_s = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    run_token = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times it was started")
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "model", "params_hash"], name="job_unique_params"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed", "cancelled"]),
                name="job_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total")), name="job_done_le_total"
            ),
        ]

    def __str__(self) -> str:
        return f"job {self.pk}: {self.model} on {self.campaign}"


class GenerationChunk(models.Model):
    """A slice of a job's missing outputs: one `gpu` task, so several workers share a job and
    other tasks interleave between chunks. Planned afresh each time the job is (re)started."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    pairs = models.JSONField(help_text="[[prompt_id, sample_index], ...] to generate")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0, help_text="Pairs stored, by any run")
    generated = models.PositiveIntegerField(default=0, help_text="Outputs this chunk wrote")
    tokens = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    run_token = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="chunk_unique_index"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed", "cancelled"]),
                name="chunk_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total")), name="chunk_done_le_total"
            ),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id}"
