"""Who may do what in a campaign."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from labeling.models import Campaign, Membership

ADMIN = Membership.Role.ADMIN
ANNOTATOR = Membership.Role.ANNOTATOR
VIEWER = Membership.Role.VIEWER
ANY_ROLE = (ADMIN, ANNOTATOR, VIEWER)


def campaign_role(user: Any, campaign: Campaign) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    return (
        Membership.objects.filter(campaign=campaign, user=user)
        .values_list("role", flat=True)
        .first()
    )


def campaigns_visible_to(user: Any) -> QuerySet[Campaign]:
    qs = Campaign.objects.select_related("rubric").order_by("-created_at", "-id")
    if user.is_superuser:
        return qs
    return qs.filter(memberships__user=user)


def campaigns_with_role(user: Any, roles: tuple[str, ...]) -> QuerySet[Campaign]:
    qs = Campaign.objects.select_related("rubric").order_by("id")
    if user.is_superuser:
        return qs
    return qs.filter(memberships__user=user, memberships__role__in=roles)


def can_create_campaigns(user: Any) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_staff))


def is_campaign_admin(user: Any, campaign: Campaign) -> bool:
    return campaign_role(user, campaign) == ADMIN
