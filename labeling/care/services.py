"""Writes of care for annotators: acknowledging the warning, opting out of hazard categories,
taking a break, the blur preference, and counting what each annotator was exposed to."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import DomainError
from labeling.care.selectors import MS_PER_MINUTE, today
from labeling.models import (
    AnnotatorCare,
    Assignment,
    Campaign,
    CarePreference,
    DailyExposure,
    Item,
)
from labeling.queue import sql


def care_release_leases(
    *, campaign: Campaign, user: User, categories: list[str] | None = None, now: datetime
) -> int:
    """Hand the annotator's live leases back to the pool (all, or those on items of these prompt
    categories): their slots to their items (gold holds none; sorted against deadlocks)."""
    leases = Assignment.objects.filter(
        campaign=campaign, annotator=user, status=Assignment.Status.ACTIVE
    )
    if categories is not None:
        leases = leases.filter(item__prompt__category__in=categories)
    rows = list(leases.values_list("pk", "item_id", "item__is_gold"))
    if not rows:
        return 0
    Assignment.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
        status=Assignment.Status.EXPIRED, finished_at=now
    )
    counts = Counter(item_id for _, item_id, gold in rows if not gold)
    for item_id, count in sorted(counts.items()):
        Item.objects.filter(pk=item_id).update(open_slots=F("open_slots") + count)
    return len(rows)


def care_acknowledge_warning(
    *, campaign: Campaign, user: User, now: datetime | None = None
) -> AnnotatorCare:
    """The annotator read the campaign's content warning: `next` leases them items from now on."""
    now = now or timezone.now()
    if not campaign.content_warning.strip():
        raise DomainError("this campaign has no content warning to acknowledge", code="no_warning")
    care, _ = AnnotatorCare.objects.get_or_create(campaign=campaign, user=user)
    if care.warning_acknowledged_at is None:
        care.warning_acknowledged_at = now
        care.save(update_fields=["warning_acknowledged_at", "updated_at"])
    return care


def care_set_opt_outs(
    *, campaign: Campaign, user: User, opt_outs: list[str], now: datetime | None = None
) -> AnnotatorCare:
    """The hazard categories this annotator does not want to see (of the campaign's list).
    Their live leases on items of those categories go back to the pool at once."""
    now = now or timezone.now()
    allowed = list(campaign.hazard_categories or [])
    if opt_outs and not allowed:
        raise DomainError(
            "this campaign lets no one opt out of categories", field="hazard_opt_outs"
        )
    for i, category in enumerate(opt_outs):
        if category not in allowed:
            raise DomainError(
                f"{category!r} is not one of this campaign's hazard categories",
                field=f"hazard_opt_outs[{i}]",
            )
    if len(set(opt_outs)) != len(opt_outs):
        raise DomainError("a category is listed twice", field="hazard_opt_outs")
    with transaction.atomic():
        care, _ = AnnotatorCare.objects.select_for_update().get_or_create(
            campaign=campaign, user=user
        )
        care.hazard_opt_outs = sorted(opt_outs)
        care.save(update_fields=["hazard_opt_outs", "updated_at"])
        if opt_outs:
            care_release_leases(campaign=campaign, user=user, categories=opt_outs, now=now)
    return care


def care_take_break(*, campaign: Campaign, user: User, now: datetime | None = None) -> None:
    """The annotator took the break they were reminded of: the next reminder is due
    break_every_minutes of labeling from now."""
    now = now or timezone.now()
    day = today(now)
    with transaction.atomic():
        row, _ = DailyExposure.objects.select_for_update().get_or_create(
            campaign=campaign, annotator=user, day=day
        )
        DailyExposure.objects.filter(pk=row.pk).update(break_at_ms=F("time_ms"))


def care_set_preference(*, user: User, blur_outputs: bool) -> CarePreference:
    pref, _ = CarePreference.objects.update_or_create(
        user=user, defaults={"blur_outputs": blur_outputs}
    )
    return pref


def exposure_of(
    *, campaign: Campaign, user: User, time_spent_ms: int | None, now: datetime
) -> sql.Exposure:
    """What a submitted or skipped item adds to the annotator's exposure of the day: one item,
    and the time the browser measured on it, capped at the lease length (a tab left open)."""
    cap = campaign.lease_minutes * MS_PER_MINUTE
    spent = max(0, min(int(time_spent_ms or 0), cap))
    return (campaign.pk, user.pk, today(now), spent)


def exposure_record(
    *, campaign: Campaign, user: User, time_spent_ms: int | None, now: datetime
) -> None:
    """Count a submitted or skipped item into the annotator's exposure of the day."""
    sql.add_exposure(
        exposure_of(campaign=campaign, user=user, time_spent_ms=time_spent_ms, now=now)
    )
