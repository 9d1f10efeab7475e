from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from assay.errors import DomainError
from labeling.models import Assignment, Campaign, Item, Membership, Rubric
from labeling.rubric import default_rubric, validate_rubric

# Status changes an admin may make by hand; generation moves draft -> generating itself.
_ALLOWED_STATUS = {
    Campaign.Status.DRAFT: {Campaign.Status.LABELING, Campaign.Status.CLOSED},
    Campaign.Status.GENERATING: {Campaign.Status.LABELING, Campaign.Status.CLOSED},
    Campaign.Status.LABELING: {Campaign.Status.CLOSED},
    Campaign.Status.CLOSED: {Campaign.Status.LABELING},
}


# Plain settings an admin may set at creation or later (the serializers check their ranges).
SETTINGS_FIELDS = (
    "consensus_method",
    "gold_min_accuracy",
    "gold_min_answers",
    "queue_strategy",
    "random_share",
    "retrain_every",
)


@transaction.atomic
def campaign_create(
    *,
    user: Any,
    name: str,
    instructions: str = "",
    rubric: dict[str, Any] | None = None,
    overlap: int = 3,
    gold_rate: float = 0.0,
    lease_minutes: int = 30,
    **settings: Any,
) -> Campaign:
    """A campaign with its rubric and its creator as admin; `settings` are further fields of
    SETTINGS_FIELDS (quality control and queue ordering), checked by the database."""
    unknown = set(settings) - set(SETTINGS_FIELDS)
    if unknown:
        raise DomainError(f"unknown setting {sorted(unknown)[0]}", field=sorted(unknown)[0])
    schema = validate_rubric(rubric if rubric is not None else default_rubric())
    rubric_row = Rubric.objects.create(name=f"{name} rubric", schema=schema)
    campaign = Campaign.objects.create(
        name=name,
        instructions=instructions,
        rubric=rubric_row,
        overlap=overlap,
        gold_rate=gold_rate,
        lease_minutes=lease_minutes,
        created_by=user,
        **settings,
    )
    Membership.objects.create(campaign=campaign, user=user, role=Membership.Role.ADMIN)
    return campaign


def _reset_open_slots(campaign: Campaign, overlap: int) -> None:
    """Open slots from the facts: overlap minus labels minus leases still holding a slot.

    Items already above a lowered overlap keep their labels; they just take no more. Gold
    items stay outside the slot queue.
    """
    holding = (
        Assignment.objects.filter(item=OuterRef("pk"), status=Assignment.Status.ACTIVE)
        .order_by()
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    taken = F("n_submitted") + Coalesce(Subquery(holding), Value(0))
    Item.objects.filter(campaign=campaign, is_gold=False).update(
        open_slots=Greatest(Value(overlap) - taken, 0)
    )


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if "rubric" in data:
        if campaign.assignments.exists():
            raise DomainError("the rubric cannot change once labeling has started", field="rubric")
        campaign.rubric.schema = validate_rubric(data["rubric"])
        campaign.rubric.save(update_fields=["schema"])
    if "status" in data and data["status"] != campaign.status:
        if data["status"] not in _ALLOWED_STATUS[Campaign.Status(campaign.status)]:
            raise DomainError(
                f"cannot go from {campaign.status} to {data['status']}", field="status"
            )
        campaign.status = data["status"]
    if "overlap" in data and data["overlap"] != campaign.overlap:
        _reset_open_slots(campaign, data["overlap"])
        campaign.overlap = data["overlap"]
    for field in ("name", "instructions", "gold_rate", "lease_minutes", *SETTINGS_FIELDS):
        if field in data:
            setattr(campaign, field, data[field])
    campaign.save()
    return campaign


def membership_set(*, campaign: Campaign, user: Any, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise DomainError(f"role must be one of {Membership.Role.values}", field="role")
    membership, _ = Membership.objects.update_or_create(
        campaign=campaign, user=user, defaults={"role": role}
    )
    return membership


def membership_remove(*, campaign: Campaign, user_id: int) -> None:
    """Their labels stay; their live leases go back to the pool."""
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(campaign=campaign, user_id=user_id).delete()
        if not deleted:
            raise DomainError("no such member", status_code=404, code="not_found")
        leases = Assignment.objects.filter(
            campaign=campaign, annotator_id=user_id, status=Assignment.Status.ACTIVE
        )
        for item_id in sorted(leases.values_list("item_id", flat=True)):
            Item.objects.filter(pk=item_id).update(open_slots=F("open_slots") + 1)
        leases.update(status=Assignment.Status.EXPIRED)
