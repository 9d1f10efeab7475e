"""Cleaning jobs over a corpus, their shards, and the audit sample humans label."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class CleaningJob(models.Model):
    class Status(models.TextChoices):
        PREVIEWING = "previewing"  # scoring a sample so the thresholds can be tried
        DRAFT = "draft"  # the sample is scored; waiting for start
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Format(models.TextChoices):
        JSONL = "jsonl"
        JSONL_GZ = "jsonl.gz"
        PARQUET = "parquet"
        HF = "hf"  # a Hugging Face `datasets` folder (save_to_disk)

    class MaskMode(models.TextChoices):
        REPLACE = "replace"
        DELETE = "delete"

    class Precision(models.TextChoices):
        FP32 = "fp32"
        INT8 = "int8"  # transformer versions with int8 Linear layers on CPU workers

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cleaning_jobs"
    )
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Where the corpus is: a path under ASSAY_CLEANING_ROOT, or an uploaded file kept under
    # the job's own folder; both resolved, never a path outside those roots.
    input_path = models.CharField(max_length=1000)
    input_format = models.CharField(max_length=16, choices=Format.choices)
    input_sha256 = models.CharField(max_length=64, blank=True)
    input_bytes = models.PositiveBigIntegerField(default=0)
    uploaded = models.BooleanField(default=False)
    text_field = models.CharField(max_length=200)
    id_field = models.CharField(max_length=200)
    # [{"version": id, "name": str, "target": str, "threshold": float, "positive": [...]}, ...]
    document_classifiers = models.JSONField(default=list, blank=True)
    # {"version": id, "name": str, "threshold": float} or null
    tagger = models.JSONField(null=True, blank=True)
    mask_mode = models.CharField(max_length=8, choices=MaskMode.choices, default=MaskMode.REPLACE)
    replacement = models.CharField(max_length=200, default="[REDACTED:{label}]")
    queue = models.CharField(max_length=32, default="default")
    precision = models.CharField(max_length=8, choices=Precision.choices, default=Precision.FP32)
    shard_size = models.PositiveIntegerField(default=10_000)
    output_dir = models.CharField(max_length=1000, blank=True)
    total_docs = models.PositiveBigIntegerField(default=0)
    done_docs = models.PositiveBigIntegerField(default=0)
    shards_total = models.PositiveIntegerField(default=0)
    shards_done = models.PositiveIntegerField(default=0)
    preview = models.JSONField(null=True, blank=True, help_text="Scored sample documents")
    report = models.JSONField(null=True, blank=True)
    datasheet = models.JSONField(null=True, blank=True)
    audit_campaign_id = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "previewing",
                        "draft",
                        "queued",
                        "running",
                        "succeeded",
                        "failed",
                        "cancelled",
                    ]
                ),
                name="cleaning_job_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(input_format__in=["jsonl", "jsonl.gz", "parquet", "hf"]),
                name="cleaning_job_format_valid",
            ),
            models.CheckConstraint(
                condition=Q(mask_mode__in=["replace", "delete"]), name="cleaning_job_mask_valid"
            ),
            models.CheckConstraint(
                condition=Q(shards_done__lte=models.F("shards_total")),
                name="cleaning_job_shards_done_le_total",
            ),
        ]
        indexes = [models.Index(fields=["owner", "-id"])]

    def __str__(self) -> str:
        return f"cleaning job {self.pk}: {self.name}"


class CleaningShard(models.Model):
    """Rows [start, end) of the corpus: one task. Its outputs appear only when complete (written
    to temporary names and renamed), and a succeeded shard is never run again."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    job = models.ForeignKey(CleaningJob, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveIntegerField()
    start = models.PositiveBigIntegerField()
    end = models.PositiveBigIntegerField()
    # For plain JSONL: the byte offset of row `start`, so a shard seeks instead of reading.
    byte_offset = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    stats = models.JSONField(null=True, blank=True, help_text="Counts, histograms, examples")
    run_token = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="cleaning_shard_unique_index"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed", "cancelled"]),
                name="cleaning_shard_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(start__lte=models.F("end")), name="cleaning_shard_range_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"shard {self.index} of cleaning job {self.job_id}"

    @property
    def total(self) -> int:
        return int(self.end - self.start)


class AuditSample(models.Model):
    """One audit item: which stratum it was drawn from and with what weight. Kept here, not on
    the item, so annotators never see the cleaning decision."""

    class Stratum(models.TextChoices):
        REMOVED = "removed"
        MASKED = "masked"  # one masked span in its context
        KEPT = "kept"  # neither removed nor masked

    job = models.ForeignKey(CleaningJob, on_delete=models.CASCADE, related_name="audit_samples")
    item_id = models.PositiveBigIntegerField()
    stratum = models.CharField(max_length=8, choices=Stratum.choices)
    doc_id = models.CharField(max_length=500)
    # Stratum size / sample size at the job's thresholds: the inverse inclusion probability.
    weight = models.FloatField()
    # What the classifiers said, so the audit can be re-read at other thresholds.
    doc_score = models.FloatField(help_text="Largest P(positive) over the document classifiers")
    span_score = models.FloatField(null=True, blank=True, help_text="The masked span's score")
    max_span_score = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "item_id"], name="audit_sample_unique_item"),
            models.CheckConstraint(
                condition=Q(stratum__in=["removed", "masked", "kept"]),
                name="audit_sample_stratum_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stratum} doc {self.doc_id} of job {self.job_id}"
