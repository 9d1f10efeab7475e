from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Rubric(models.Model):
    name = models.CharField(max_length=200)
    schema = models.JSONField(help_text="Typed dimensions; see labeling/rubric.py")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


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

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="items")
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "model", "params_hash", "sample_index"], name="item_unique_sample"
            ),
            models.CheckConstraint(condition=Q(open_slots__gte=0), name="item_open_slots_gte_0"),
        ]
        indexes = [
            # The `next` scan: items still open, fullest first (finish started items), then id.
            models.Index(
                fields=["campaign", "open_slots", "id"],
                condition=Q(open_slots__gt=0),
                name="item_next_open",
            ),
            models.Index(fields=["campaign", "model"]),
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
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
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
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
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
