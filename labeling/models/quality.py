"""Quality control: consensus per item and dimension, adjudications, gold, refit state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from labeling.models.campaigns import Campaign, Item
from labeling.models.queue import Annotation


class Consensus(models.Model):
    """The aggregated label of one item on one dimension.

    ``value`` has the shape of ``Annotation.values[dimension]`` (a string for choice, a list for
    multi_choice, the mean for likert, a list of spans). ``method`` says where it came from: a
    crowd-kit method name, "majority", "mean", "char_vote", "gold" (the item's expected value)
    or "adjudicated" (an admin's final word, see Adjudication); the last two count as truth.
    """

    class Method(models.TextChoices):
        DAWID_SKENE = "dawid_skene"
        ONE_COIN = "one_coin"
        GLAD = "glad"
        MACE = "mace"
        WAWA = "wawa"
        MAJORITY = "majority"
        BINARY_RELEVANCE = "binary_relevance"
        MEAN = "mean"
        CHAR_VOTE = "char_vote"
        GOLD = "gold"
        ADJUDICATED = "adjudicated"

    # Covered by (campaign, dimension, confidence) and consensus_unique (item, dimension): each
    # submit rewrites its item's rows, and every index with them.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="consensus", db_index=False
    )
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="consensus", db_index=False
    )
    dimension = models.CharField(max_length=64)
    value = models.JSONField()
    confidence = models.FloatField(help_text="Posterior of `value`, or the agreeing share")
    posterior = models.JSONField(null=True, blank=True, help_text="{value: probability}")
    method = models.CharField(max_length=24, choices=Method.choices)
    n_labels = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "dimension"], name="consensus_unique"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="consensus_confidence_range",
            ),
        ]
        # No index holds a column a vote rewrites (value, confidence, method, ...), so on
        # PostgreSQL the per-submit update of a row is heap-only: no index entry written. The
        # review queue sorts one campaign dimension's rows by confidence in memory.
        indexes = [models.Index(fields=["campaign", "dimension"], name="consensus_dimension")]

    def __str__(self) -> str:
        return f"item {self.item_id} {self.dimension}={self.value!r} ({self.method})"


class Adjudication(models.Model):
    """An admin's final value for an item and dimension; it overrides the consensus.

    ``fitted`` keeps what the model said (value, confidence, method), refreshed by every refit,
    so the override can be compared with the fit and undone.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="adjudications")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="adjudications")
    dimension = models.CharField(max_length=64)
    value = models.JSONField()
    note = models.TextField(blank=True)
    fitted = models.JSONField(null=True, blank=True)
    adjudicated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    adjudicated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "dimension"], name="adjudication_unique"),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} {self.dimension} adjudicated"


class GoldAnswer(models.Model):
    """An annotator's answer on a gold item, scored against the expected values once."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="gold_answers")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="gold_answers")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_answers"
    )
    annotation = models.OneToOneField(
        Annotation, on_delete=models.CASCADE, related_name="gold_answer"
    )
    correct = models.BooleanField(help_text="Every expected dimension matched")
    score = models.FloatField(help_text="Share of the expected dimensions matched")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="gold_answer_unique"),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=1), name="gold_answer_score_range"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "annotator"])]

    def __str__(self) -> str:
        return f"{self.annotator} on gold item {self.item_id}"


class QualityState(models.Model):
    """Per campaign: the debounced refit's bookkeeping and the last quality report.

    ``refit_scheduled`` is flipped by one conditional UPDATE on submit, so a burst of submits
    enqueues one refit; ``refit_started_at`` keeps a second refit of the campaign from running.
    Both expire (consensus.REFIT_STALE): a worker killed while it held the refit's message, or
    while it ran the refit, must not stop the campaign's refits for good. ``refit_owner`` is the
    Celery task that holds the slot, so that its redelivery after such a kill takes it back.
    """

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="quality_state"
    )
    refit_scheduled = models.BooleanField(default=False)
    refit_requested_at = models.DateTimeField(null=True, blank=True)
    refit_started_at = models.DateTimeField(null=True, blank=True)
    refit_owner = models.CharField(max_length=64, blank=True)
    last_refit_at = models.DateTimeField(null=True, blank=True)
    last_refit_s = models.FloatField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    report = models.JSONField(default=dict, blank=True, help_text="Agreement and annotators")
    report_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quality of campaign {self.campaign_id}"
