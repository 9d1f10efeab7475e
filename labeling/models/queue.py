"""The queue: leases of items to annotators, and the annotations they submit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from labeling.models.campaigns import Campaign, Item, Prompt


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
    # How the queue chose the item for this lease: "random" (the fixed random order),
    # "priority" (the active learner's order) or "gold"; "" for leases from before the record.
    # pick_probability: the chance that this arm was drawn for the pick (the campaign's
    # random_share, 1 - random_share, or gold_rate; 1 under the random strategy).
    pick = models.CharField(max_length=8, blank=True, default="")
    pick_probability = models.FloatField(null=True, blank=True)
    # Why the annotator skipped (optional). A database default: the hand-written lease SQL
    # inserts rows without naming this column.
    skip_reason = models.CharField(max_length=500, blank=True, default="", db_default="")

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


class AnnotationRevision(models.Model):
    """An annotation's values as they were before its annotator edited them: edits never
    overwrite silently. `number` counts from 1 (the first submit's values)."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    values = models.JSONField()
    submitted_at = models.DateTimeField(help_text="When these values were submitted")
    replaced_at = models.DateTimeField(help_text="When the edit replaced them")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "number"], name="annotation_revision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"revision {self.number} of annotation {self.annotation_id}"


class PrivateExposure(models.Model):
    """Who was shown which private (held-out) prompt: a row per lease `next` hands out on an
    item of a private prompt, written by the lease's own statement (labeling/queue/sql.py)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="private_exposures", db_index=False
    )
    # Indexed: deleting prompts (a failed import's, a campaign's) looks their exposures up.
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="private_exposures")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="private_exposures")
    # An audit record: the user stays while it does (as their annotations do).
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="private_exposures"
    )
    shown_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["campaign", "shown_at"], name="private_exposure_campaign")]

    def __str__(self) -> str:
        return f"{self.annotator} shown prompt {self.prompt_id}"
