from __future__ import annotations

from django.db import models
from django.db.models import Q

from labeling.models import Campaign


class CandidateModel(models.Model):
    class Backend(models.TextChoices):
        TRANSFORMERS = "transformers"
        OPENAI = "openai"  # any OpenAI-compatible HTTP server (vLLM, TGI, llama.cpp, APIs)
        VLLM = "vllm"  # vLLM in the worker (`pip install .[vllm]`), a local HF folder
        IMPORTED = "imported"  # outputs brought from elsewhere; nothing to run

    class Endpoint(models.TextChoices):
        CHAT = "chat"  # /v1/chat/completions
        COMPLETIONS = "completions"  # /v1/completions, for base models

    name = models.CharField(max_length=200, unique=True)
    backend = models.CharField(max_length=32, choices=Backend.choices)
    path = models.CharField(
        max_length=1000, blank=True, help_text="Local folder, or a .gguf file, on the worker"
    )
    revision = models.CharField(
        max_length=128,
        blank=True,
        help_text="Commit or content hash, filled in on first load; for an HTTP model, the "
        "revision the admin declares (the server cannot prove it)",
    )
    default_decoding = models.JSONField(default=dict, blank=True)
    # OpenAI-compatible servers. The API key is never stored: only the name of the worker's
    # environment variable that holds it.
    base_url = models.CharField(max_length=500, blank=True, help_text="e.g. http://host:8000/v1")
    api_model = models.CharField(max_length=200, blank=True, help_text="The server's model name")
    endpoint = models.CharField(
        max_length=16, choices=Endpoint.choices, default=Endpoint.CHAT, blank=True
    )
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable with the key"
    )
    max_concurrency = models.PositiveSmallIntegerField(default=4)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True)
    timeout_s = models.FloatField(default=60.0)
    max_retries = models.PositiveSmallIntegerField(default=5)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(backend__in=["transformers", "openai", "vllm", "imported"]),
                name="model_backend_valid",
            ),
            models.CheckConstraint(
                condition=~Q(backend__in=["transformers", "vllm"]) | ~Q(path=""),
                name="model_path_for_backend",
            ),
            models.CheckConstraint(
                condition=~Q(backend="openai") | (~Q(base_url="") & ~Q(api_model="")),
                name="model_url_for_http",
            ),
            models.CheckConstraint(
                condition=Q(max_concurrency__gte=1) & Q(timeout_s__gt=0),
                name="model_http_limits_valid",
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
    # When its task was sent: a job keeps only a few chunks in the broker at a time, so tasks
    # queued meanwhile (a training run) run between its chunks, not after all of them.
    enqueued_at = models.DateTimeField(null=True, blank=True)

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
