"""Reads of care for annotators: the gate `next` checks, what blurs, and who saw how much."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from labeling.models import (
    AnnotatorCare,
    BlurMode,
    Campaign,
    CarePreference,
    DailyExposure,
    Membership,
)
from labeling.queue import sql

MS_PER_MINUTE = 60_000


class CareState:
    OK = "ok"
    WARNING = "warning"  # the content warning is not acknowledged yet: no item is leased
    LIMIT_REACHED = "limit_reached"  # the day's items or minutes are used up: no item is leased
    BREAK_DUE = "break_due"  # a reminder: items are leased, the workspace shows the reminder first


@dataclass(frozen=True)
class CareStatus:
    state: str
    limit: str | None  # "items" or "minutes" when state is limit_reached
    items_today: int
    minutes_today: float
    daily_item_limit: int
    daily_minute_limit: int
    break_every_minutes: int
    minutes_since_break: float
    # Items they may still be leased today (None: no item limit).
    items_left_today: int | None
    opt_outs: tuple[str, ...]

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["opt_outs"] = list(self.opt_outs)
        return data

    @property
    def blocks(self) -> bool:
        return self.state in (CareState.WARNING, CareState.LIMIT_REACHED)


def today(now: datetime) -> date:
    """The exposure day: the server's local date (settings.TIME_ZONE)."""
    return timezone.localdate(now)


def uses_care(campaign: Campaign) -> bool:
    """Whether `next` must read the annotator's care row: a warning, opting out, a limit or a
    break reminder. Campaigns without any pay nothing on the hot path."""
    return bool(
        campaign.content_warning.strip()
        or campaign.hazard_categories
        or campaign.daily_item_limit
        or campaign.daily_minute_limit
        or campaign.break_every_minutes
    )


def _status(
    campaign: Campaign, acknowledged: bool, outs: list[str], items: int, ms: int, break_ms: int
) -> CareStatus:
    allowed = set(campaign.hazard_categories or [])
    opt_outs = tuple(sorted(c for c in set(outs) if c in allowed))
    item_limit, minute_limit = campaign.daily_item_limit, campaign.daily_minute_limit
    every = campaign.break_every_minutes
    state, limit = CareState.OK, None
    if campaign.content_warning.strip() and not acknowledged:
        state = CareState.WARNING
    elif item_limit and items >= item_limit:
        state, limit = CareState.LIMIT_REACHED, "items"
    elif minute_limit and ms >= minute_limit * MS_PER_MINUTE:
        state, limit = CareState.LIMIT_REACHED, "minutes"
    elif every and ms - break_ms >= every * MS_PER_MINUTE:
        state = CareState.BREAK_DUE
    return CareStatus(
        state=state,
        limit=limit,
        items_today=items,
        minutes_today=round(ms / MS_PER_MINUTE, 2),
        daily_item_limit=item_limit,
        daily_minute_limit=minute_limit,
        break_every_minutes=every,
        minutes_since_break=round((ms - break_ms) / MS_PER_MINUTE, 2),
        items_left_today=max(0, item_limit - items) if item_limit else None,
        opt_outs=opt_outs,
    )


def care_status(*, campaign: Campaign, user: User, now: datetime) -> CareStatus | None:
    """The annotator's care state in the campaign now; None when the campaign uses none of it
    (then nothing is read)."""
    if not uses_care(campaign):
        return None
    acknowledged, outs, items, ms, break_ms = sql.care_row(campaign.pk, user.pk, today(now))
    return _status(campaign, acknowledged, outs, items, ms, break_ms)


def care_status_full(*, campaign: Campaign, user: User, now: datetime) -> CareStatus:
    """As `care_status`, read even when the campaign uses no care feature (the care page)."""
    acknowledged, outs, items, ms, break_ms = sql.care_row(campaign.pk, user.pk, today(now))
    return _status(campaign, acknowledged, outs, items, ms, break_ms)


def is_sensitive(campaign: Campaign, harm_probability: float | None) -> bool:
    """Whether an output is shown blurred (unless the annotator turned blur off for themselves):
    every output under "all"; under "likely_harmful" those the harm classifier rates at least
    the campaign's threshold, and those it has not scored yet (erring on the side of care)."""
    mode = campaign.blur_outputs
    if mode == BlurMode.ALL:
        return True
    if mode == BlurMode.LIKELY_HARMFUL:
        return harm_probability is None or harm_probability >= campaign.blur_threshold
    return False


def blur_preference(user: User) -> bool:
    """The user's own choice: whether sensitive outputs are blurred for them (default yes)."""
    pref = CarePreference.objects.filter(user=user).values_list("blur_outputs", flat=True).first()
    return True if pref is None else bool(pref)


def my_care(*, campaign: Campaign, user: User, now: datetime) -> dict[str, Any]:
    """What the annotator's care screens show: the warning, categories, their choices and day."""
    status = care_status_full(campaign=campaign, user=user, now=now)
    acknowledged = (
        AnnotatorCare.objects.filter(
            campaign=campaign, user=user, warning_acknowledged_at__isnull=False
        )
        .values_list("warning_acknowledged_at", flat=True)
        .first()
    )
    return {
        "content_warning": campaign.content_warning,
        "warning_acknowledged_at": acknowledged,
        "blur_outputs": campaign.blur_outputs,
        "blur_preference": blur_preference(user),
        "hazard_categories": list(campaign.hazard_categories or []),
        "hazard_opt_outs": list(status.opt_outs),
        "status": status.as_data(),
    }


def exposure_by_annotator(*, campaign: Campaign, days: int, now: datetime) -> list[dict[str, Any]]:
    """Each annotator's exposure: today, and per day over the last `days` days (today included),
    for the campaign's annotators and anyone else who labeled in those days. Two queries."""
    end = today(now)
    start = end - timedelta(days=days - 1)
    rows = (
        DailyExposure.objects.filter(campaign=campaign, day__gte=start, day__lte=end)
        .order_by("day")
        .values_list("annotator_id", "day", "items", "time_ms")
    )
    by_user: dict[int, list[tuple[date, int, int]]] = {}
    for user_id, day, items, ms in rows:
        by_user.setdefault(user_id, []).append((day, items, ms))
    members = dict(
        Membership.objects.filter(campaign=campaign)
        .filter(role__in=[Membership.Role.ANNOTATOR, Membership.Role.ADMIN])
        .values_list("user_id", "user__username")
    )
    missing = set(by_user) - set(members)
    if missing:
        members.update(User.objects.filter(pk__in=missing).values_list("pk", "username"))
    out = []
    for user_id, username in sorted(members.items(), key=lambda kv: kv[1]):
        per_day = by_user.get(user_id, [])
        today_row = next((r for r in per_day if r[0] == end), (end, 0, 0))
        recent_items = sum(r[1] for r in per_day)
        recent_ms = sum(r[2] for r in per_day)
        item_limit, minute_limit = campaign.daily_item_limit, campaign.daily_minute_limit
        out.append(
            {
                "annotator_id": user_id,
                "username": username,
                "items_today": today_row[1],
                "minutes_today": round(today_row[2] / MS_PER_MINUTE, 2),
                "limit_reached_today": bool(
                    (item_limit and today_row[1] >= item_limit)
                    or (minute_limit and today_row[2] >= minute_limit * MS_PER_MINUTE)
                ),
                "items_recent": recent_items,
                "minutes_recent": round(recent_ms / MS_PER_MINUTE, 2),
                "days": [
                    {"day": d, "items": i, "minutes": round(ms / MS_PER_MINUTE, 2)}
                    for d, i, ms in per_day
                ],
            }
        )
    return out
