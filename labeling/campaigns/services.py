from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from core.errors import DomainError

# The prompt import's service lives in its own module; callers may import it from here.
from labeling.campaigns.imports import prompt_imports_cleanup as prompt_imports_cleanup
from labeling.campaigns.imports import prompts_import as prompts_import
from labeling.models import Assignment, Campaign, Item, Membership, Prompt, Rubric
from labeling.rubric import default_rubric, validate_rubric
from labeling.scores.refresh import score_summary_request

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
    "skip_limit_per_hour",
    "content_warning",
    "blur_outputs",
    "blur_threshold",
    "daily_item_limit",
    "daily_minute_limit",
    "break_every_minutes",
    "hazard_categories",
)


@transaction.atomic
def campaign_create(
    *,
    user: User,
    name: str,
    instructions: str = "",
    rubric: dict[str, Any] | None = None,
    overlap: int = 3,
    gold_rate: float = 0.0,
    lease_minutes: int = 30,
    private_annotators: list[int] | None = None,
    **settings: Any,
) -> Campaign:
    """A campaign with its rubric and its creator as admin; `settings` are further fields of
    SETTINGS_FIELDS (quality control and queue ordering), checked by the database;
    `private_annotators` as in `private_annotators_set` (only the creator is a member yet)."""
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
    if private_annotators is not None:
        private_annotators_set(campaign=campaign, user_ids=private_annotators)
        campaign.save(update_fields=["private_restricted"])
    return campaign


def _expire_leases(leases: QuerySet[Assignment]) -> None:
    """Hand live leases back to the pool: their slots to their items (gold holds none; sorted,
    so that concurrent releases do not deadlock on PostgreSQL)."""
    for item_id in sorted(leases.filter(item__is_gold=False).values_list("item_id", flat=True)):
        Item.objects.filter(pk=item_id).update(open_slots=F("open_slots") + 1)
    leases.update(status=Assignment.Status.EXPIRED, finished_at=timezone.now())


def private_annotators_set(*, campaign: Campaign, user_ids: list[int] | None) -> None:
    """Who may be leased items of private prompts: None, any annotator; a list, only these
    members (annotators or admins) and the campaign's admins. Live leases of private items
    held by anyone else go back to the pool. Sets `campaign.private_restricted`; the caller
    saves the campaign."""
    memberships = Membership.objects.filter(campaign=campaign)
    if user_ids is None:
        campaign.private_restricted = False
        memberships.filter(private_access=True).update(private_access=False)
        return
    roles = dict(memberships.filter(user_id__in=user_ids).values_list("user_id", "role"))
    for i, user_id in enumerate(user_ids):
        if roles.get(user_id) not in (Membership.Role.ANNOTATOR, Membership.Role.ADMIN):
            raise DomainError(
                f"user {user_id} is not an annotator or admin of this campaign",
                field=f"private_annotators[{i}]",
            )
    memberships.update(
        private_access=Case(When(user_id__in=user_ids, then=Value(True)), default=Value(False))
    )
    campaign.private_restricted = True
    admins = memberships.filter(role=Membership.Role.ADMIN).values_list("user_id", flat=True)
    leases = Assignment.objects.filter(
        campaign=campaign,
        status=Assignment.Status.ACTIVE,
        item__prompt__split=Prompt.Split.PRIVATE,
        annotator__is_superuser=False,
    ).exclude(annotator_id__in=[*user_ids, *admins])
    _expire_leases(Assignment.objects.filter(pk__in=list(leases.values_list("pk", flat=True))))


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
    if "private_annotators" in data:
        private_annotators_set(campaign=campaign, user_ids=data["private_annotators"])
    for name in ("name", "instructions", "gold_rate", "lease_minutes", *SETTINGS_FIELDS):
        if name in data:
            setattr(campaign, name, data[name])
    campaign.save()
    return campaign


def campaign_generation_started(*, campaign_id: int) -> None:
    """A draft campaign moves to generating when its first generation job is queued."""
    Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.DRAFT).update(
        status=Campaign.Status.GENERATING
    )


def campaign_generation_finished(*, campaign_id: int) -> None:
    """Generation is over: a generating campaign opens for labeling. The condition is checked
    in the database, not on a copy the caller may hold."""
    Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.GENERATING).update(
        status=Campaign.Status.LABELING
    )


def membership_set(*, campaign: Campaign, user: User, role: str) -> Membership:
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
        _expire_leases(leases)


@dataclass
class NewItem:
    prompt_id: int
    sample_index: int
    text: str
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str = ""
    latency_ms: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def items_create(
    *,
    campaign: Campaign,
    model_id: int,
    params_hash: str,
    new_items: list[NewItem],
    job_id: int | None = None,
) -> int:
    """Insert outputs; an output already stored for (prompt, model, params, sample) is kept.

    Returns how many rows were new. Safe to call again with the same outputs (a re-run job).
    """
    rows = [
        Item(
            campaign=campaign,
            prompt_id=n.prompt_id,
            model_id=model_id,
            job_id=job_id,
            params_hash=params_hash,
            sample_index=n.sample_index,
            text=n.text,
            prompt_tokens=n.prompt_tokens,
            output_tokens=n.output_tokens,
            finish_reason=n.finish_reason,
            latency_ms=n.latency_ms,
            provenance=n.provenance,
            open_slots=campaign.overlap,
        )
        for n in new_items
    ]
    with transaction.atomic():
        before = Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).count()
        Item.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        after = Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).count()
    return after - before


def existing_samples(
    *, campaign: Campaign, model_id: int, params_hash: str, prompt_ids: list[int] | None = None
) -> set[tuple[int, int]]:
    """(prompt_id, sample_index) pairs already generated (of those prompts), so a re-run
    skips them."""
    qs = Item.objects.filter(campaign=campaign, model_id=model_id, params_hash=params_hash)
    if prompt_ids is not None:
        qs = qs.filter(prompt_id__in=prompt_ids)
    return set(qs.values_list("prompt_id", "sample_index"))


@dataclass(frozen=True)
class ClassifierScore:
    harm_probability: float
    priority: float | None
    # Set for items the version trained on: their out-of-fold P(unsafe).
    harm_probability_oof: float | None = None


def items_set_classifier_scores(
    *, campaign: Campaign, version: str, scores: dict[int, ClassifierScore]
) -> int:
    """Store the active classifier version's harm probability and queue priority per item.

    The classifier app calls this after predicting; items of other campaigns are ignored.
    Returns how many items were updated.
    """
    for item_id, score in scores.items():
        if not 0.0 <= score.harm_probability <= 1.0:
            raise ValueError(
                f"item {item_id}: harm probability {score.harm_probability} not in [0, 1]"
            )
        oof = score.harm_probability_oof
        if oof is not None and not 0.0 <= oof <= 1.0:
            raise ValueError(f"item {item_id}: out-of-fold harm probability {oof} not in [0, 1]")
    rows = list(Item.objects.filter(campaign=campaign, id__in=list(scores)).only("id"))
    for row in rows:
        s = scores[row.id]
        row.harm_probability = s.harm_probability
        row.priority = 0.0 if s.priority is None else s.priority  # 0: not prioritised
        row.harm_probability_oof = s.harm_probability_oof
        row.classifier_version = version
    with transaction.atomic():
        Item.objects.bulk_update(
            rows,
            ["harm_probability", "harm_probability_oof", "priority", "classifier_version"],
            batch_size=500,
        )
        # The prediction-powered estimates use these probabilities: refresh the summary.
        score_summary_request(campaign_id=campaign.pk)
    return len(rows)
