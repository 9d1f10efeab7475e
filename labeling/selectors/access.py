"""Who may do what in a campaign."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from labeling.models import Campaign, Membership

ADMIN = Membership.Role.ADMIN
ANNOTATOR = Membership.Role.ANNOTATOR
VIEWER = Membership.Role.VIEWER
ANY_ROLE = (ADMIN, ANNOTATOR, VIEWER)


def campaign_role(user: Any, campaign: Campaign) -> str | None:
    """The user's role in the campaign; read once per campaign object (the hot path asks twice)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    cached = getattr(campaign, "_role_of", None)
    if cached is not None and cached[0] == user.pk:
        return cached[1]
    role = (
        Membership.objects.filter(campaign=campaign, user=user)
        .values_list("role", flat=True)
        .first()
    )
    campaign._role_of = (user.pk, role)  # type: ignore[attr-defined]
    return role


def campaign_with_role(user: Any, pk: int) -> tuple[Campaign | None, str | None]:
    """The campaign and the user's role in it, in one query."""
    if not user.is_authenticated:
        return None, None
    role = Membership.objects.filter(campaign=OuterRef("pk"), user=user).values("role")[:1]
    campaign = (
        Campaign.objects.select_related("rubric")
        .annotate(my_role=Subquery(role))
        .filter(pk=pk)
        .first()
    )
    if campaign is None:
        return None, None
    resolved = ADMIN if user.is_superuser else campaign.my_role
    campaign._role_of = (user.pk, resolved)  # type: ignore[attr-defined]
    return campaign, resolved


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
