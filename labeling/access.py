"""Who may do what in a campaign."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from labeling import hot_sql
from labeling.models import Campaign, Membership

ADMIN = Membership.Role.ADMIN
ANNOTATOR = Membership.Role.ANNOTATOR
VIEWER = Membership.Role.VIEWER
ANY_ROLE = (ADMIN, ANNOTATOR, VIEWER)


def campaign_membership(user: Any, campaign: Campaign) -> Membership | None:
    """The user's membership of the campaign (None for outsiders); read once per campaign object
    (the hot path asks more than once)."""
    cached = getattr(campaign, "_membership_of", None)
    if cached is not None and cached[0] == user.pk:
        member: Membership | None = cached[1]
        return member
    member = (
        Membership.objects.filter(campaign=campaign, user=user)
        .only("role", "paused_at", "pause_reason")
        .first()
    )
    remember_membership(user, campaign, member)
    return member


def remember_membership(user: Any, campaign: Campaign, member: Membership | None) -> None:
    if member is not None and member.role is None:
        member = None  # a LEFT JOIN that found no membership row
    campaign._membership_of = (user.pk, member)  # type: ignore[attr-defined]


def campaign_role(user: Any, campaign: Campaign) -> str | None:
    """The user's role in the campaign: superusers are admins everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    member = campaign_membership(user, campaign)
    return None if member is None else member.role


def campaign_with_role(user: Any, pk: int) -> tuple[Campaign | None, str | None]:
    """The campaign (with its rubric) and the user's role in it, in one statement."""
    if not user.is_authenticated:
        return None, None
    found = hot_sql.campaign_with_member(pk, user.pk)
    if found is None:
        return None, None
    campaign, member = found
    remember_membership(user, campaign, member)
    return campaign, campaign_role(user, campaign)


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
