from __future__ import annotations

import random

from django.conf import settings
from django.db import models
from django.db.models import Q


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


class BlurMode(models.TextChoices):
    OFF = "off"
    LIKELY_HARMFUL = "likely_harmful"
    ALL = "all"


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
    # Quality control: how consensus is fitted and when an annotator is paused.
    consensus_method = models.CharField(
        max_length=16, choices=ConsensusMethod.choices, default=ConsensusMethod.DAWID_SKENE
    )
    gold_min_accuracy = models.FloatField(
        default=0.6, help_text="An annotator under this gold accuracy is paused"
    )
    gold_min_answers = models.PositiveSmallIntegerField(
        default=5, help_text="Gold answers needed before accuracy can pause anyone"
    )
    # The harm classifier: queue ordering and retraining cadence.
    queue_strategy = models.CharField(
        max_length=16, choices=QueueStrategy.choices, default=QueueStrategy.RANDOM
    )
    random_share = models.FloatField(
        default=0.2, help_text="Share of picks kept random under the uncertainty strategy"
    )
    retrain_every = models.PositiveIntegerField(
        default=200, help_text="Retrain after this many new consensus labels; 0: only by hand"
    )
    # Held-out prompts: who may be leased their items, and how fast anyone may skip past items.
    private_restricted = models.BooleanField(
        default=False,
        help_text="Lease items of private prompts only to admins and members with private_access",
    )
    skip_limit_per_hour = models.PositiveIntegerField(
        default=60, help_text="Skips an annotator may make in any hour of this campaign"
    )
    # Care for the people who read harmful text (labeling/care): a warning on the first visit,
    # blurred outputs, daily exposure limits, break reminders, hazard categories to opt out of.
    content_warning = models.TextField(
        blank=True, help_text="Markdown shown once to each annotator before their first item"
    )
    blur_outputs = models.CharField(max_length=16, choices=BlurMode.choices, default=BlurMode.OFF)
    blur_threshold = models.FloatField(
        default=0.5, help_text="likely_harmful: blur outputs the classifier rates at least this"
    )
    daily_item_limit = models.PositiveIntegerField(
        default=0, help_text="Items an annotator may see per day; 0: no limit"
    )
    daily_minute_limit = models.PositiveIntegerField(
        default=0, help_text="Minutes of labeling per annotator per day; 0: no limit"
    )
    break_every_minutes = models.PositiveIntegerField(
        default=0, help_text="Remind an annotator to take a break every N minutes; 0: never"
    )
    hazard_categories = models.JSONField(
        default=list,
        blank=True,
        help_text="Prompt categories annotators may opt out of (empty: no opting out)",
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
                condition=Q(blur_outputs__in=[c.value for c in BlurMode]),
                name="campaign_blur_outputs_valid",
            ),
            models.CheckConstraint(
                condition=Q(blur_threshold__gte=0) & Q(blur_threshold__lte=1),
                name="campaign_blur_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(daily_item_limit__lte=100_000)
                & Q(daily_minute_limit__lte=24 * 60)
                & Q(break_every_minutes__lte=24 * 60),
                name="campaign_care_limits_range",
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
            models.CheckConstraint(
                condition=Q(skip_limit_per_hour__gte=1) & Q(skip_limit_per_hour__lte=10_000),
                name="campaign_skip_limit_range",
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
    # Under the campaign's private_restricted: this annotator may be leased private items.
    private_access = models.BooleanField(default=False)
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


class PromptImport(models.Model):
    """One prompt import. Its rows are written in short transactions but stay invisible
    (`Prompt.objects` leaves them out) until the import commits: one UPDATE of this row.

    A pending import whose heartbeat stops (the process died) is failed and its rows deleted
    by `labeling.campaigns.services.prompt_imports_cleanup`; a failed import's rows never show.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        COMMITTED = "committed"
        FAILED = "failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="prompt_imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rows = models.PositiveIntegerField(default=0, help_text="Rows written so far")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "committed", "failed"]),
                name="prompt_import_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["heartbeat_at"], condition=Q(status="pending"), name="prompt_import_pending"
            )
        ]

    def __str__(self) -> str:
        return f"prompt import {self.pk} ({self.status})"


class VisiblePromptManager(models.Manager["Prompt"]):
    """Prompts outside any import, or of a committed one: the default manager, so that every
    reader (lists, counts, generation) leaves out the rows of an import still under way or
    failed. Deletion cascades and `Item.prompt` use the plain base manager."""

    def get_queryset(self) -> models.QuerySet[Prompt]:
        return (
            super()
            .get_queryset()
            .filter(
                Q(source_import__isnull=True)
                | Q(source_import__status=PromptImport.Status.COMMITTED)
            )
        )


class Prompt(models.Model):
    class Split(models.TextChoices):
        PUBLIC = "public"
        PRIVATE = "private"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="prompts")
    # The import that wrote the row (provenance, and visibility until it commits).
    source_import = models.ForeignKey(
        PromptImport,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="prompts",
    )
    external_id = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    category = models.CharField(max_length=200, blank=True)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.PUBLIC)
    reference = models.JSONField(
        default=dict, blank=True, help_text="e.g. correct/incorrect answers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Every row, those of pending and failed imports too: for the import itself and cleanup.
    all_rows = models.Manager()
    objects = VisiblePromptManager()

    class Meta:
        default_manager_name = "objects"
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
    # labeling.campaigns.services.items_set_classifier_scores (classifiers -> labeling, never back):
    # its probability that the output is unsafe, the version that said so, and the active
    # learner's priority (higher is labeled first; 0 until scored).
    harm_probability = models.FloatField(null=True, blank=True)
    # For items the active version trained on: P(unsafe) from a cross-fitting fold model that
    # did not see them (the harm estimates use it instead of the in-sample prediction).
    harm_probability_oof = models.FloatField(null=True, blank=True)
    classifier_version = models.CharField(max_length=64, blank=True)
    priority = models.FloatField(default=0.0)
    # The sampling record: how the queue chose this item the first time it leased it ("random":
    # next in the fixed random order; "priority": the active learner's), and the probability
    # that the arm which chose it was drawn for that pick (1 under the random strategy).
    # "" until first leased, or leased before the record existed (then no design-based
    # estimate can use it). Written by labeling/queue/sql.py in the lease's own statement.
    first_pick = models.CharField(max_length=8, blank=True, default="")
    first_pick_probability = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "model", "params_hash", "sample_index"], name="item_unique_sample"
            ),
            models.CheckConstraint(condition=Q(open_slots__gte=0), name="item_open_slots_gte_0"),
        ]
        indexes = [
            # The `next` scans (labeling/queue/sql.py): items still open, fullest first (finish
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
                fields=["campaign", "n_submitted", "random_key"],
                condition=Q(is_gold=True),
                name="item_gold",
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.pk}"
