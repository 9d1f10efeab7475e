"""Leasing items to annotators, and taking their labels.

Invariants, held by the database where it can:
- an annotator gets an item at most once (unique item, annotator);
- submitted annotations plus live leases never exceed the overlap (Item.open_slots >= 0);
- an expired lease gives its slot back; a skipped item goes to others.

On PostgreSQL `next` takes the item row with FOR UPDATE SKIP LOCKED so concurrent annotators
pass each other by; on SQLite every write transaction is IMMEDIATE and so runs one at a time.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.errors import DomainError
from labeling.access import (
    ADMIN,
    ANNOTATOR,
    campaign_membership,
    campaign_role,
    remember_membership,
    sees_private_items,
)
from labeling.care.selectors import CareState, CareStatus, care_status
from labeling.care.services import care_release_leases, exposure_of, exposure_record
from labeling.models import (
    Annotation,
    AnnotationRevision,
    Assignment,
    Campaign,
    Item,
    Prompt,
    QueueStrategy,
)
from labeling.quality.on_submit import quality_after_submit
from labeling.queue import sql
from labeling.rubric import validate_values

MAX_AHEAD = 1  # leases an annotator may hold beyond the current one (prefetch)
OPEN_STATUSES = (Campaign.Status.GENERATING, Campaign.Status.LABELING)


def _for_update(qs: Any, *, skip_locked: bool = False) -> Any:
    if connection.features.has_select_for_update:
        if skip_locked and connection.features.has_select_for_update_skip_locked:
            return qs.select_for_update(skip_locked=True, of=("self",))
        return qs.select_for_update(of=("self",))
    return qs


def _check_can_label(campaign: Campaign, user: User) -> None:
    if campaign_role(user, campaign) not in (ANNOTATOR, ADMIN):
        raise DomainError(
            "you are not an annotator of this campaign", status_code=403, code="forbidden"
        )
    if campaign.status not in OPEN_STATUSES:
        raise DomainError(
            f"the campaign is {campaign.status}, not open for labeling",
            code="campaign_not_open",
            status_code=409,
        )


def reclaim_expired(*, campaign: Campaign, now: datetime) -> int:
    """Return the slots of expired leases to their items. Must run inside a transaction."""
    expired = list(
        _for_update(
            Assignment.objects.filter(
                campaign=campaign, status=Assignment.Status.ACTIVE, expires_at__lte=now
            ),
            skip_locked=True,
        ).values_list("id", "item_id")[:1000]
    )
    if not expired:
        return 0
    Assignment.objects.filter(id__in=[a for a, _ in expired]).update(
        status=Assignment.Status.EXPIRED, finished_at=now
    )
    # Sorted item order keeps concurrent reclaims from deadlocking on PostgreSQL. Gold items
    # hold no slots (they sit outside the open-slot queue), so they get none back.
    for item_id, count in sorted(Counter(i for _, i in expired).items()):
        Item.objects.filter(pk=item_id, is_gold=False).update(open_slots=F("open_slots") + count)
    return len(expired)


def _live_leases(campaign: Campaign, user: User, now: datetime) -> list[Assignment]:
    leases = sql.live_leases(campaign.pk, user.pk, now, 1 + MAX_AHEAD)
    for lease in leases:
        lease.campaign = campaign
        lease.item.campaign = campaign
        lease.annotator = user
    return leases


def _check_not_paused(campaign: Campaign, user: User) -> None:
    """An annotator paused for low gold accuracy gets no more items until an admin resumes."""
    member = campaign_membership(user, campaign)
    if member is not None and member.paused_at is not None:
        raise DomainError(
            "you are paused in this campaign: " + (member.pause_reason or "ask its admins why"),
            code="paused",
            status_code=403,
        )


def assignment_next(
    *, campaign: Campaign, user: User, now: datetime | None = None
) -> Assignment | None:
    """Lease the next item to `user`, or return their live lease; None when nothing is left."""
    leases = assignment_leases(campaign=campaign, user=user, now=now)
    return leases[0] if leases else None


def assignment_leases(
    *, campaign: Campaign, user: User, now: datetime | None = None, ahead: int = 0
) -> list[Assignment]:
    """The annotator's live leases, oldest first, topped up to 1 + `ahead` when items remain.

    The first is the item to label now (a reload gets the same one back); with `ahead=1` the
    second is leased too, so the browser can show it the moment the first is submitted.
    An empty list means nothing is left for this annotator.
    """
    leases, _ = assignment_leases_with_care(campaign=campaign, user=user, now=now, ahead=ahead)
    return leases


def assignment_leases_with_care(
    *, campaign: Campaign, user: User, now: datetime | None = None, ahead: int = 0
) -> tuple[list[Assignment], CareStatus | None]:
    """As `assignment_leases`, with the annotator's care state (labeling/care; None in campaigns
    that use none of it). An unacknowledged content warning or a day's limit reached leases
    nothing (and a reached limit hands back the leases held); leases taken ahead count against
    the day's item limit, so the browser never shows an item past it."""
    _check_can_label(campaign, user)
    if not 0 <= ahead <= MAX_AHEAD:
        raise DomainError(f"ahead must be between 0 and {MAX_AHEAD}", field="ahead")
    _check_not_paused(campaign, user)
    now = now or timezone.now()
    with transaction.atomic():
        care = care_status(campaign=campaign, user=user, now=now)
        if care is not None and care.blocks:
            if care.state == CareState.LIMIT_REACHED:
                care_release_leases(campaign=campaign, user=user, now=now)
            return [], care
        allowed = 1 + ahead
        if care is not None and care.items_left_today is not None:
            allowed = min(allowed, care.items_left_today)
        without = care.opt_outs if care is not None else ()
        leases = _live_leases(campaign, user, now)
        if leases:
            _renew_if_half_spent(leases[0], campaign, now)
        if len(leases) >= allowed:
            return leases[:allowed], care
        reclaimed = _reclaim_now_and_then(campaign, now)
        while len(leases) < allowed:
            lease = _lease_one(campaign, user, now, without)
            if lease is None and not reclaimed:
                # Nothing open: expired leases may be holding the last slots.
                reclaim_expired(campaign=campaign, now=now)
                reclaimed = True
                lease = _lease_one(campaign, user, now, without)
            if lease is None:
                break
            leases.append(lease)
    return leases, care


# When this process last returned expired leases to each campaign's pool (by the caller's clock).
_last_reclaim: dict[int, datetime] = {}
RECLAIM_EVERY = timedelta(seconds=10)


def _reclaim_now_and_then(campaign: Campaign, now: datetime) -> bool:
    """Reclaim expired leases at most every few seconds: `next` is the hot path.

    Leases last minutes, so a few seconds' delay hands nothing out twice; when no item is open
    the caller reclaims at once anyway.
    """
    last = _last_reclaim.get(campaign.pk)
    if last is not None and last <= now < last + RECLAIM_EVERY:
        return False
    _last_reclaim[campaign.pk] = now
    reclaim_expired(campaign=campaign, now=now)
    return True


def _renew_if_half_spent(lease: Assignment, campaign: Campaign, now: datetime) -> None:
    """A lease taken ahead started its clock early; give it a full term once it is current."""
    term = timedelta(minutes=campaign.lease_minutes)
    if lease.expires_at - now < term / 2:
        lease.expires_at = now + term
        Assignment.objects.filter(pk=lease.pk).update(expires_at=lease.expires_at)


def _order(campaign: Campaign) -> tuple[str, float]:
    """The order of this pick and the probability it was drawn (recorded with the pick).

    Under the uncertainty strategy a random share of picks keeps the fixed random order, so
    the items it reaches stay a uniform sample for design-based estimates (labeling/scores)."""
    if campaign.queue_strategy != QueueStrategy.UNCERTAINTY:
        return "random", 1.0
    share = float(campaign.random_share)
    if _rng.random() >= share:
        return "priority", 1.0 - share
    return "random", share


def _pick_and_lease(
    campaign: Campaign, user: User, now: datetime, expires: datetime, without: tuple[str, ...]
) -> sql.Leased | None:
    """Lease the next item for `user` (sql.Leased), never one of the hazard categories they
    opted out of (`without`).

    Gold is mixed in at the campaign's gold rate, but only while regular work remains, so the
    queue never ends on a run of gold; it takes no slot. Items of private prompts only go to
    annotators the campaign lets see them (`sees_private_items`).
    """
    order, probability = _order(campaign)
    public_only = not sees_private_items(user, campaign)
    gold_turn = campaign.gold_rate > 0 and _rng.random() < campaign.gold_rate
    if gold_turn and sql.pick_item(
        campaign.pk, user.pk, order, public_only=public_only, without=without
    ):
        gold = sql.pick_and_lease(
            campaign.pk,
            user.pk,
            "gold",
            now,
            expires,
            public_only=public_only,
            probability=float(campaign.gold_rate),
            without=without,
        )
        if gold is not None:
            return gold
    return sql.pick_and_lease(
        campaign.pk,
        user.pk,
        order,
        now,
        expires,
        public_only=public_only,
        probability=probability,
        without=without,
    )


_rng = random.SystemRandom()


def _lease_one(
    campaign: Campaign, user: User, now: datetime, without: tuple[str, ...] = ()
) -> Assignment | None:
    expires = now + timedelta(minutes=campaign.lease_minutes)
    # Renews in place a lease of this annotator's that expired earlier (one row per pair).
    leased = _pick_and_lease(campaign, user, now, expires, without)
    if leased is None:
        return None
    item_id, text, model_id, prompt_id, prompt_text, lease_id, harm = leased
    # Built as if loaded with .only(...): any other field is fetched on first access.
    prompt = Prompt.from_db(
        "default", ["id", "campaign_id", "text"], [prompt_id, campaign.pk, prompt_text]
    )
    item = Item.from_db(
        "default",
        ["id", "campaign_id", "prompt_id", "model_id", "text", "harm_probability"],
        [item_id, campaign.pk, prompt_id, model_id, text, harm],
    )
    item.prompt = prompt
    item.campaign = campaign
    assignment = Assignment(
        id=lease_id,
        campaign=campaign,
        item=item,
        annotator=user,
        status=Assignment.Status.ACTIVE,
        leased_at=now,
        expires_at=expires,
    )
    assignment._state.adding = False  # the row exists: saving it must UPDATE, not INSERT
    return assignment


def _lock_own_assignment(assignment_id: int, user: User) -> Assignment:
    """The caller's assignment, locked, with campaign, rubric, item and their membership."""
    found = sql.lock_own_assignment(assignment_id, user.pk)
    if found is None:
        raise DomainError("no such assignment of yours", status_code=404, code="not_found")
    assignment, member = found
    assignment.annotator = user
    remember_membership(user, assignment.campaign, member)
    return assignment


def _retake_slot(assignment: Assignment, now: datetime) -> None:
    """A lease that expired and was reclaimed may still be honoured if a slot is free."""
    if assignment.item.is_gold:
        return  # gold holds no slots
    taken = Item.objects.filter(pk=assignment.item_id, open_slots__gt=0).update(
        open_slots=F("open_slots") - 1
    )
    if not taken:
        raise DomainError(
            "your lease on this item expired and others have taken it; your input was not saved",
            code="lease_lost",
            status_code=409,
        )


def annotation_submit(
    *,
    assignment_id: int,
    user: User,
    values: Any,
    time_spent_ms: int | None = None,
    client_started_at: datetime | None = None,
    client_submitted_at: datetime | None = None,
    now: datetime | None = None,
) -> Annotation:
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _lock_own_assignment(assignment_id, user)
        _check_can_label(assignment.campaign, user)
        if assignment.status == Assignment.Status.SUBMITTED:
            existing = Annotation.objects.get(assignment=assignment)
            if existing.values == validate_values(
                assignment.campaign.rubric.schema, values, assignment.item.text
            ):
                return existing  # a retried request: same values, same answer
            raise DomainError(
                "this item is already submitted", code="already_submitted", status_code=409
            )
        if assignment.status == Assignment.Status.SKIPPED:
            raise DomainError("this item was skipped", code="skipped", status_code=409)
        cleaned = validate_values(assignment.campaign.rubric.schema, values, assignment.item.text)
        if assignment.status == Assignment.Status.EXPIRED:
            _retake_slot(assignment, now)
        # The assignment row is locked and not yet submitted, so no annotation of this pair
        # exists; should the database still refuse one, the whole transaction rolls back.
        annotation = Annotation(
            item=assignment.item,
            annotator=user,
            assignment=assignment,
            values=cleaned,
            time_spent_ms=time_spent_ms,
            client_started_at=client_started_at,
            client_submitted_at=client_submitted_at,
            created_at=now,
        )
        # The day's exposure (labeling/care) is counted by the same statement on PostgreSQL.
        exposure = exposure_of(
            campaign=assignment.campaign, user=user, time_spent_ms=time_spent_ms, now=now
        )
        answers = sql.record_submission(
            annotation, assignment.pk, assignment.item_id, now, exposure
        )
        quality_after_submit(
            annotation=annotation,
            item=assignment.item,
            campaign=assignment.campaign,
            now=now,
            answers=answers,
        )
    return annotation


SKIP_WINDOW = timedelta(hours=1)


def _check_skip_limit(campaign: Campaign, user: User, now: datetime) -> None:
    """At most `skip_limit_per_hour` skips in any hour: next-then-skip would otherwise page
    through every item, the held-out (private) prompts included."""
    limit = campaign.skip_limit_per_hour
    skips = (
        Assignment.objects.filter(
            campaign=campaign,
            annotator=user,
            status=Assignment.Status.SKIPPED,
            finished_at__gt=now - SKIP_WINDOW,
        )
        .order_by("finished_at")
        .values_list("finished_at", flat=True)
    )
    recent = [t for t in skips if t is not None]
    if len(recent) < limit:
        return
    # Skipping is possible again once enough of these skips are more than an hour old.
    free_at = recent[len(recent) - limit] + SKIP_WINDOW
    wait_s = max(1, int((free_at - now).total_seconds()) + 1)
    raise DomainError(
        f"you have skipped {len(recent)} items in the last hour, this campaign's limit of "
        f"{limit}; label this item, or skip again in {(wait_s + 59) // 60} minute(s)",
        code="skip_limit",
        status_code=429,
        extra={"retry_after_s": wait_s, "skip_limit_per_hour": limit},
    )


MAX_SKIP_REASON = 500


def assignment_skip(
    *, assignment_id: int, user: User, reason: str = "", now: datetime | None = None
) -> Assignment:
    now = now or timezone.now()
    if len(reason) > MAX_SKIP_REASON:
        raise DomainError(f"at most {MAX_SKIP_REASON} characters", field="reason")
    with transaction.atomic():
        assignment = _lock_own_assignment(assignment_id, user)
        _check_can_label(assignment.campaign, user)
        if assignment.status == Assignment.Status.SKIPPED:
            return assignment
        if assignment.status == Assignment.Status.SUBMITTED:
            raise DomainError(
                "this item is already submitted", code="already_submitted", status_code=409
            )
        _check_skip_limit(assignment.campaign, user, now)
        if assignment.status == Assignment.Status.ACTIVE and not assignment.item.is_gold:
            Item.objects.filter(pk=assignment.item_id).update(open_slots=F("open_slots") + 1)
        assignment.status = Assignment.Status.SKIPPED
        assignment.finished_at = now
        assignment.skip_reason = reason.strip()
        assignment.save(update_fields=["status", "finished_at", "skip_reason"])
        exposure_record(campaign=assignment.campaign, user=user, time_spent_ms=0, now=now)
    return assignment


def assignment_unskip(*, assignment_id: int, user: User, now: datetime | None = None) -> Assignment:
    """Undo a skip: the item is leased to the annotator again, if a slot is still free."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _lock_own_assignment(assignment_id, user)
        campaign = assignment.campaign
        _check_can_label(campaign, user)
        if assignment.status == Assignment.Status.ACTIVE:
            return assignment  # a retried request
        if assignment.status != Assignment.Status.SKIPPED:
            raise DomainError(
                f"this item is {assignment.status}, not skipped",
                code="not_skipped",
                status_code=409,
            )
        if not assignment.item.is_gold:
            taken = Item.objects.filter(pk=assignment.item_id, open_slots__gt=0).update(
                open_slots=F("open_slots") - 1
            )
            if not taken:
                raise DomainError(
                    "others have taken this item since you skipped it",
                    code="lease_lost",
                    status_code=409,
                )
        assignment.status = Assignment.Status.ACTIVE
        assignment.leased_at = now
        assignment.expires_at = now + timedelta(minutes=campaign.lease_minutes)
        assignment.finished_at = None
        assignment.skip_reason = ""
        assignment.save(
            update_fields=["status", "leased_at", "expires_at", "finished_at", "skip_reason"]
        )
    return assignment


def annotation_edit(
    *,
    assignment_id: int,
    user: User,
    values: Any,
    time_spent_ms: int | None = None,
    now: datetime | None = None,
) -> Annotation:
    """Correct a submitted annotation while its campaign is open. The values it replaces are
    kept as a revision, and the item's consensus votes again (gold answers keep their first
    score: an edit must not game the accuracy check)."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _lock_own_assignment(assignment_id, user)
        campaign = assignment.campaign
        _check_can_label(campaign, user)
        if assignment.status != Assignment.Status.SUBMITTED:
            raise DomainError(
                "only a submitted item can be edited", code="not_submitted", status_code=409
            )
        annotation = Annotation.objects.select_for_update().get(assignment=assignment)
        cleaned = validate_values(campaign.rubric.schema, values, assignment.item.text)
        if cleaned == annotation.values:
            return annotation
        number = annotation.revisions.count() + 1
        AnnotationRevision.objects.create(
            annotation=annotation,
            number=number,
            values=annotation.values,
            submitted_at=annotation.revisions.order_by("-number")
            .values_list("replaced_at", flat=True)
            .first()
            or annotation.created_at,
            replaced_at=now,
        )
        annotation.values = cleaned
        fields = ["values"]
        if time_spent_ms is not None:
            annotation.time_spent_ms = min(
                86_400_000, (annotation.time_spent_ms or 0) + time_spent_ms
            )
            fields.append("time_spent_ms")
        annotation.save(update_fields=fields)
        if not assignment.item.is_gold:
            quality_after_submit(
                annotation=annotation, item=assignment.item, campaign=campaign, now=now
            )
    return annotation
