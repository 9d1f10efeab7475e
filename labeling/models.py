from __future__ import annotations

import random

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Rubric(models.Model):
    name = models.CharField(max_length=200)
    schema = models.JSONField(help_text="Typed dimensions; see labeling/rubric.py")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ConsensusMethod(models.TextChoices):
    DAWID_SKENE = "dawid_skene"
    ONE_COIN = "one_coin"
    GLAD = "glad"
    MACE = "mace"
    WAWA = "wawa"
    MAJORITY = "majority"


class QueueStrategy(models.TextChoices):
    RANDOM = "random"
    UNCERTAINTY = "uncertainty"


def random_key() -> float:
    return random.random()


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        GENERATING = "generating"
        LABELING = "labeling"
        CLOSED = "closed"

    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, help_text="Markdown")
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="campaigns")
    overlap = models.PositiveSmallIntegerField(default=3, help_text="Annotators per item")
    gold_rate = models.FloatField(default=0.0)
    lease_minutes = models.PositiveIntegerField(default=30)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Quality control (issue 4): how consensus is fitted and when an annotator is paused.
    consensus_method = models.CharField(
        max_length=16, choices=ConsensusMethod.choices, default=ConsensusMethod.DAWID_SKENE
    )
    gold_min_accuracy = models.FloatField(
        default=0.6, help_text="An annotator under this gold accuracy is paused"
    )
    gold_min_answers = models.PositiveSmallIntegerField(
        default=5, help_text="Gold answers needed before accuracy can pause anyone"
    )
    # The harm classifier (issue 5): queue ordering and retraining cadence.
    queue_strategy = models.CharField(
        max_length=16, choices=QueueStrategy.choices, default=QueueStrategy.RANDOM
    )
    random_share = models.FloatField(
        default=0.2, help_text="Share of picks kept random under the uncertainty strategy"
    )
    retrain_every = models.PositiveIntegerField(
        default=200, help_text="Retrain after this many new consensus labels; 0: only by hand"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(overlap__gte=1) & Q(overlap__lte=50), name="campaign_overlap_range"
            ),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="campaign_gold_rate_range"
            ),
            models.CheckConstraint(
                condition=Q(lease_minutes__gte=1) & Q(lease_minutes__lte=24 * 60),
                name="campaign_lease_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "generating", "labeling", "closed"]),
                name="campaign_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(gold_min_accuracy__gte=0) & Q(gold_min_accuracy__lte=1),
                name="campaign_gold_min_accuracy_range",
            ),
            models.CheckConstraint(
                condition=Q(random_share__gte=0) & Q(random_share__lte=1),
                name="campaign_random_share_range",
            ),
            models.CheckConstraint(
                condition=Q(consensus_method__in=[c.value for c in ConsensusMethod]),
                name="campaign_consensus_method_valid",
            ),
            models.CheckConstraint(
                condition=Q(queue_strategy__in=[c.value for c in QueueStrategy]),
                name="campaign_queue_strategy_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin"
        ANNOTATOR = "annotator"
        VIEWER = "viewer"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    # Set when gold accuracy falls under the campaign's threshold: no more `next` until cleared.
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["admin", "annotator", "viewer"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} of {self.campaign}"


class Prompt(models.Model):
    class Split(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="prompts")
    external_id = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    category = models.CharField(max_length=200, blank=True)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.PUBLIC)
    reference = models.JSONField(
        default=dict, blank=True, help_text="e.g. correct/incorrect answers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "text_sha256"], name="prompt_unique_text_per_campaign"
            ),
            models.UniqueConstraint(
                fields=["campaign", "external_id"],
                condition=~Q(external_id=""),
                name="prompt_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(split__in=["public", "private"]), name="prompt_split_valid"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "split"])]

    def __str__(self) -> str:
        return self.text[:80]


class Item(models.Model):
    """One output to rate.

    ``open_slots`` is the overlap minus submitted annotations and live leases; the database
    refuses to take it below zero, so no item is ever handed out beyond its overlap.
    """

    # No index of their own: (campaign, model) and item_unique_sample (prompt, ...) lead with
    # them. Every index is written again on each update of open_slots, on every next.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    prompt = models.ForeignKey(
        Prompt, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    # Referenced by name: labeling code never imports generation (dependencies point one way).
    model = models.ForeignKey(
        "generation.CandidateModel", on_delete=models.PROTECT, related_name="items"
    )
    job = models.ForeignKey(
        "generation.GenerationJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
    )
    params_hash = models.CharField(max_length=64, help_text="Hash of the decoding parameters")
    sample_index = models.PositiveIntegerField(default=0)
    text = models.TextField()
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    open_slots = models.PositiveSmallIntegerField()
    n_submitted = models.PositiveSmallIntegerField(default=0)
    # Gold items carry expected values; they sit outside the open-slot queue (open_slots = 0)
    # and are mixed into every annotator's queue at the campaign's gold rate.
    is_gold = models.BooleanField(default=False)
    gold_values = models.JSONField(null=True, blank=True)
    # A fixed random order for the random strategy (and the random share of the uncertainty one).
    random_key = models.FloatField(default=random_key)
    # Written by the harm classifier's active version through
    # labeling.services.items.items_set_classifier_scores (classifiers -> labeling, never back):
    # its probability that the output is unsafe, the version that said so, and the active
    # learner's priority (higher is labeled first; 0 until scored).
    harm_probability = models.FloatField(null=True, blank=True)
    classifier_version = models.CharField(max_length=64, blank=True)
    priority = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "model", "params_hash", "sample_index"], name="item_unique_sample"
            ),
            models.CheckConstraint(condition=Q(open_slots__gte=0), name="item_open_slots_gte_0"),
        ]
        indexes = [
            # The `next` scans (labeling/hot_sql.py): items still open, fullest first (finish
            # started items), then the active learner's priority or a fixed random order.
            models.Index(
                fields=["campaign", "open_slots", "random_key"],
                condition=Q(open_slots__gt=0),
                name="item_next_open",
            ),
            models.Index(
                fields=["campaign", "open_slots", "-priority", "random_key"],
                condition=Q(open_slots__gt=0),
                name="item_next_priority",
            ),
            models.Index(fields=["campaign", "model"]),
            models.Index(
                fields=["campaign", "random_key"], condition=Q(is_gold=True), name="item_gold"
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.pk}"


class Assignment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUBMITTED = "submitted"
        SKIPPED = "skipped"
        EXPIRED = "expired"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    # Covered by assignment_unique (item, annotator) and (annotator, campaign, status).
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # An annotator gets an item at most once, whatever becomes of the lease.
            models.UniqueConstraint(fields=["item", "annotator"], name="assignment_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "submitted", "skipped", "expired"]),
                name="assignment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("leased_at")), name="assignment_lease_order"
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "expires_at"],
                condition=Q(status="active"),
                name="assignment_active_expiry",
            ),
            models.Index(fields=["annotator", "campaign", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on item {self.item_id} ({self.status})"


class Annotation(models.Model):
    # Covered by annotation_unique (item, annotator).
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="annotations", db_index=False
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    assignment = models.OneToOneField(
        Assignment, on_delete=models.PROTECT, related_name="annotation"
    )
    values = models.JSONField()
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    client_started_at = models.DateTimeField(null=True, blank=True)
    client_submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="annotation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on item {self.item_id}"


# --- Quality control (issue 4) ---------------------------------------------------------------


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
    """

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="quality_state"
    )
    refit_scheduled = models.BooleanField(default=False)
    refit_started_at = models.DateTimeField(null=True, blank=True)
    last_refit_at = models.DateTimeField(null=True, blank=True)
    last_refit_s = models.FloatField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    report = models.JSONField(default=dict, blank=True, help_text="Agreement and annotators")
    report_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quality of campaign {self.campaign_id}"


class ScoreSummary(models.Model):
    """A materialized score: one model's result on one dimension for one slice of a campaign.

    Written only by labeling.services.score_summary (a debounced `default`-queue task) and read
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

    def __str__(self) -> str:
        return f"score refresh of campaign {self.campaign_id}"
