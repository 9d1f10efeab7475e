"""Who may act on a campaign: the one gate every app's API goes through.

`get_campaign` answers 404 to outsiders and 403 to members without the role; the role helpers
read the membership once per campaign object.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.request import Request

from labeling.models import Campaign, Membership
from labeling.queue import sql

ADMIN = Membership.Role.ADMIN
ANNOTATOR = Membership.Role.ANNOTATOR
VIEWER = Membership.Role.VIEWER
ANY_ROLE = (ADMIN, ANNOTATOR, VIEWER)

# Whoever sends a request: a signed-in user of django.contrib.auth, or an anonymous one.
# Services that act for someone take a `User`; views get it from `signed_in`.
AppUser = User | AnonymousUser


def campaign_membership(user: AppUser, campaign: Campaign) -> Membership | None:
    """The user's membership of the campaign (None for outsiders); read once per campaign object
    (the hot path asks more than once)."""
    cached = getattr(campaign, "_membership_of", None)
    if cached is not None and cached[0] == user.pk:
        member: Membership | None = cached[1]
        return member
    if isinstance(user, AnonymousUser):
        return None
    member = (
        Membership.objects.filter(campaign=campaign, user=user)
        .only("role", "paused_at", "pause_reason", "private_access")
        .first()
    )
    remember_membership(user, campaign, member)
    return member


def remember_membership(user: AppUser, campaign: Campaign, member: Membership | None) -> None:
    if member is not None and member.role is None:
        member = None  # a LEFT JOIN that found no membership row
    campaign._membership_of = (user.pk, member)  # type: ignore[attr-defined]


def campaign_role(user: AppUser, campaign: Campaign) -> str | None:
    """The user's role in the campaign: superusers are admins everywhere."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    member = campaign_membership(user, campaign)
    return None if member is None else member.role


def sees_private_items(user: AppUser, campaign: Campaign) -> bool:
    """Whether `next` may lease this user items of private (held-out) prompts: anyone unless
    the campaign restricts them, then its admins and the members given private access."""
    if not campaign.private_restricted:
        return True
    if campaign_role(user, campaign) == ADMIN:
        return True
    member = campaign_membership(user, campaign)
    return member is not None and member.private_access


def campaign_with_role(user: AppUser, pk: int) -> tuple[Campaign | None, str | None]:
    """The campaign (with its rubric) and the user's role in it, in one statement."""
    if not user.is_authenticated:
        return None, None
    found = sql.campaign_with_member(pk, user.pk)
    if found is None:
        return None, None
    campaign, member = found
    remember_membership(user, campaign, member)
    return campaign, campaign_role(user, campaign)


def campaigns_visible_to(user: AppUser) -> QuerySet[Campaign]:
    qs = Campaign.objects.select_related("rubric").order_by("-created_at", "-id")
    if isinstance(user, AnonymousUser):
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(memberships__user=user)


def campaigns_with_role(user: AppUser, roles: tuple[str, ...]) -> QuerySet[Campaign]:
    qs = Campaign.objects.select_related("rubric").order_by("id")
    if isinstance(user, AnonymousUser):
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(memberships__user=user, memberships__role__in=roles)


def can_create_campaigns(user: AppUser) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_staff))


def get_campaign(request: Request, pk: int, roles: tuple[str, ...] = ANY_ROLE) -> Campaign:
    """The campaign if the user may act on it: 404 to outsiders, 403 to the wrong role."""
    campaign, role = campaign_with_role(request.user, pk)
    if campaign is None or role is None:
        raise Http404("no such campaign")
    if role not in roles:
        raise PermissionDenied(f"this needs the {' or '.join(roles)} role in the campaign")
    return campaign


def signed_in(request: Request) -> User:
    """The request's signed-in user (the API's default permission has already turned anonymous
    callers away; this makes that explicit to the services that act for them)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
