"""The materialized score summary and its refresh state."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from labeling.models.campaigns import Campaign


class ScoreSummary(models.Model):
    """A materialized score: one model's result on one dimension for one slice of a campaign.

    Written only by labeling.scores.summary (a debounced `default`-queue task) and read
    by the scores endpoints and the leaderboard, so no request aggregates annotations.
    ``category`` "" is every category; ``sort_value`` orders best first (ascending) whichever
    way the dimension points; ``detail`` holds the breakdowns, the prediction-powered estimate,
    paired comparisons and the held-out split check.
    """

    class Split(models.TextChoices):
        ALL = "all"
        PUBLIC = "public"
        PRIVATE = "private"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="score_summaries")
    model = models.ForeignKey(
        "generation.CandidateModel", on_delete=models.CASCADE, related_name="score_summaries"
    )
    split = models.CharField(max_length=8, choices=Split.choices)
    category = models.CharField(max_length=200, blank=True)
    dimension = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, help_text="rate, mean or breakdown")
    value = models.FloatField(null=True, blank=True)
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)
    sort_value = models.FloatField(null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)
    higher_is_better = models.BooleanField()
    n = models.PositiveIntegerField(help_text="Labels behind the score")
    n_items = models.PositiveIntegerField()
    n_labeled_items = models.PositiveIntegerField()
    n_annotations = models.PositiveIntegerField()
    method = models.TextField()
    detail = models.JSONField(default=dict)
    computed_at = models.DateTimeField()
    # A digest of everything this row's slice was computed from (labeling.scores.marks): a
    # refresh that finds the same digest keeps the row instead of recomputing it.
    slice_mark = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "model", "split", "category", "dimension"],
                name="score_summary_unique",
            ),
            models.CheckConstraint(
                condition=Q(split__in=["all", "public", "private"]), name="score_summary_split"
            ),
            models.CheckConstraint(
                condition=Q(low__isnull=True) | Q(high__isnull=True) | Q(low__lte=F("high")),
                name="score_summary_interval_order",
            ),
        ]
        indexes = [
            models.Index(
                fields=["dimension", "split", "category", "campaign", "rank", "sort_value"],
                name="score_summary_board",
            ),
            models.Index(fields=["model", "campaign"], name="score_summary_model"),
        ]

    def __str__(self) -> str:
        return f"{self.dimension} of model {self.model_id} in campaign {self.campaign_id}"


class ScoreRefresh(models.Model):
    """Per campaign: the debounced summary refresh's bookkeeping.

    ``pending`` is flipped by one conditional UPDATE, so a burst of requests enqueues one task.
    """

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="score_refresh"
    )
    pending = models.BooleanField(default=False)
    requested_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_s = models.FloatField(null=True, blank=True)
    # The newest consensus change the summary has seen: later changes make it stale.
    consensus_mark = models.DateTimeField(null=True, blank=True)
    # When the load behind the stored rows began: a refresh that loaded earlier than the one
    # already written (two overlapping tasks) discards its result instead of overwriting.
    data_at = models.DateTimeField(null=True, blank=True)
    # The last refresh: slices recomputed / slices in all, and whether it was a full rebuild.
    slices_recomputed = models.PositiveIntegerField(null=True, blank=True)
    slices_total = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"score refresh of campaign {self.campaign_id}"
