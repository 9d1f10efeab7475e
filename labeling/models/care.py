"""Care for annotators who read harmful text: what each one acknowledged and opted out of,
their blur preference, and how much they were exposed to each day (labeling/care)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from labeling.models.campaigns import Campaign


class AnnotatorCare(models.Model):
    """One annotator's choices in one campaign (any member, superusers included)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="annotator_care", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_care"
    )
    # When they acknowledged the campaign's content warning (None: not yet).
    warning_acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Hazard categories (of Campaign.hazard_categories) whose items `next` never serves them.
    hazard_opt_outs = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="annotator_care_unique"),
        ]

    def __str__(self) -> str:
        return f"care of {self.user} in {self.campaign}"


class CarePreference(models.Model):
    """A user's own preference, in every campaign: whether likely harmful outputs are blurred."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_preference"
    )
    blur_outputs = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"care preference of {self.user}"


class DailyExposure(models.Model):
    """What one annotator saw in one campaign on one day (the server's local date): items
    submitted or skipped, and the minutes spent on submitted ones (Annotation.time_spent_ms,
    each capped at the campaign's lease length). One upsert per submit or skip."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="daily_exposures", db_index=False
    )
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_exposures"
    )
    day = models.DateField()
    items = models.PositiveIntegerField(default=0)
    time_ms = models.PositiveBigIntegerField(default=0)
    # time_ms when they last took (acknowledged) a break: the next reminder is due
    # break_every_minutes after it.
    break_at_ms = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "annotator", "day"], name="daily_exposure_unique"
            ),
            models.CheckConstraint(
                condition=Q(break_at_ms__lte=models.F("time_ms")),
                name="daily_exposure_break_order",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "day"], name="daily_exposure_campaign_day")]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.day}: {self.items} items"
