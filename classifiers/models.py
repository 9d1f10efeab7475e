"""Training runs, the versions they produce, predictions, and the fixed data slices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from labeling.models import Campaign, Item

BACKEND_CHOICES = [
    ("tfidf_logreg", "TF-IDF + logistic regression"),
    ("transformer", "Transformer"),
    ("span_lexicon", "Span tagger: word lexicon"),
    ("span_transformer", "Span tagger: transformer"),
]


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Kind(models.TextChoices):
        DOCUMENT = "document"
        SPAN_TAGGER = "span_tagger"

    class Trigger(models.TextChoices):
        AUTO = "auto"  # every campaign.retrain_every new labels
        MANUAL = "manual"  # an admin's button

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="training_runs")
    target = models.CharField(max_length=64, help_text="The rubric dimension learned, e.g. harm")
    # A document classifier learns a choice dimension (class probabilities per text); a span
    # tagger learns a spans dimension (labeled character spans per text).
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DOCUMENT)
    backend = models.CharField(max_length=32, choices=BACKEND_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    seed = models.PositiveIntegerField(default=0)
    # The exact snapshot: item ids (by slice), the classes, and a hash of the labels used.
    classes = models.JSONField(default=list, blank=True)
    train_item_ids = models.JSONField(default=list, blank=True)
    calibration_item_ids = models.JSONField(default=list, blank=True)
    eval_item_ids = models.JSONField(default=list, blank=True)
    labels_sha256 = models.CharField(max_length=64, blank=True)
    n_labels = models.PositiveIntegerField(default=0)
    label_counts = models.JSONField(default=dict, blank=True, help_text="{class: labels}")
    library_versions = models.JSONField(default=dict, blank=True)
    device = models.CharField(max_length=64, blank=True)
    metrics = models.JSONField(null=True, blank=True, help_text="On the evaluation slice")
    train_seconds = models.FloatField(null=True, blank=True)
    artifact_path = models.CharField(max_length=1000, blank=True)
    error = models.TextField(blank=True)
    # The Celery task running it: redelivered after its worker was killed, the task (same id)
    # takes the run over instead of leaving it "running" until it expires.
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Never two runs at once for the same campaign and target.
            models.UniqueConstraint(
                fields=["campaign", "target"],
                condition=Q(status__in=["queued", "running"]),
                name="training_run_one_active",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "succeeded", "failed"]),
                name="training_run_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="document", backend__in=["tfidf_logreg", "transformer"])
                | Q(kind="span_tagger", backend__in=["span_lexicon", "span_transformer"]),
                name="training_run_backend_valid",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "target", "-id"])]

    def __str__(self) -> str:
        return f"run {self.pk}: {self.backend} on {self.target} ({self.status})"


class ClassifierVersion(models.Model):
    """A trained model; at most one is active per campaign and target."""

    run = models.OneToOneField(TrainingRun, on_delete=models.CASCADE, related_name="version")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="classifier_versions"
    )
    target = models.CharField(max_length=64)
    name = models.CharField(max_length=64, help_text="Stored on items as classifier_version")
    is_active = models.BooleanField(default=False)
    promoted = models.BooleanField(default=False)
    decision = models.TextField(help_text="Why it was or was not promoted")
    compared_with = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The active version's metrics on this run's evaluation slice, when there was one.
    baseline_metrics = models.JSONField(null=True, blank=True)
    n_predictions = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "target"],
                condition=Q(is_active=True),
                name="classifier_version_one_active",
            ),
            models.UniqueConstraint(fields=["campaign", "name"], name="classifier_version_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Prediction(models.Model):
    version = models.ForeignKey(
        ClassifierVersion, on_delete=models.CASCADE, related_name="predictions"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=64)
    probabilities = models.JSONField(help_text="{class: probability}")
    positive_probability = models.FloatField(
        help_text="Probability of the target's positive values (harm: unsafe)"
    )
    out_of_fold_probability = models.FloatField(
        null=True,
        blank=True,
        help_text="For items the version trained on: P(positive) from a cross-fitting fold "
        "model that did not see the item",
    )
    priority = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "item"], name="prediction_unique"),
            models.CheckConstraint(
                condition=Q(positive_probability__gte=0) & Q(positive_probability__lte=1),
                name="prediction_probability_range",
            ),
        ]
        indexes = [models.Index(fields=["version", "-positive_probability"])]

    def __str__(self) -> str:
        return f"item {self.item_id}: {self.label} ({self.positive_probability:.3f})"


class DataSlice(models.Model):
    """Which slice an item's label belongs to, fixed the first time a run sees it.

    Evaluation items never train, in this run or any later one, so versions are compared on
    labels none of them has seen.
    """

    class Slice(models.TextChoices):
        TRAIN = "train"
        CALIBRATION = "calibration"
        EVAL = "eval"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=64)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    slice = models.CharField(max_length=16, choices=Slice.choices)
    run = models.ForeignKey(TrainingRun, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "target", "item"], name="data_slice_unique"
            ),
            models.CheckConstraint(
                condition=Q(slice__in=["train", "calibration", "eval"]), name="data_slice_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} in {self.slice} for {self.target}"
