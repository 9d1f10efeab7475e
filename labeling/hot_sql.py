"""Hand-written SQL for the statements `next` and `submit` run on every request.

Building and compiling an ORM query costs about a millisecond of CPU here, more than the
database spends running it; bench/annotate_loop.py measured the ORM at 40-48% of a request.
These statements are fixed, so they are written once, for PostgreSQL and SQLite (3.35+ for
RETURNING). Everything else stays in the ORM.

Rows come back as model instances (assay.rawsql.Columns), as the ORM would build them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from assay.rawsql import Columns, split_row
from labeling.models import (
    Annotation,
    Assignment,
    Campaign,
    Item,
    Membership,
    Prompt,
    Rubric,
)


def _adapt(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _fetchone(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def _execute(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


_PICK = (
    "SELECT i.id, i.text, i.model_id, p.id, p.text FROM labeling_item i"
    " JOIN labeling_prompt p ON p.id = i.prompt_id"
    " WHERE i.campaign_id = %s AND {where} AND NOT EXISTS ("
    "  SELECT 1 FROM labeling_assignment u WHERE u.item_id = i.id AND u.annotator_id = %s"
    "  AND u.status IN ('active', 'submitted', 'skipped'))"
    " ORDER BY {order} LIMIT 1"
)
# Each ordering has its own index (item_next_open, item_next_priority, item_gold).
_ORDERS = {
    "random": ("i.open_slots > 0", "i.open_slots, i.random_key"),
    "priority": ("i.open_slots > 0", "i.open_slots, i.priority DESC, i.random_key"),
    "gold": ("i.is_gold", "i.random_key"),
}


def pick_item(
    campaign_id: int, user_id: int, order: str = "random"
) -> tuple[int, str, int, int, str] | None:
    """(item id, text, model id, prompt id, prompt text) of the next item, locked on PostgreSQL.

    Fewest open slots first (finish items others started), then the classifier's priority
    (order "priority") or the item's fixed random key; "gold" picks among gold items instead,
    which sit outside the open-slot queue. Never an item this annotator holds, submitted or
    skipped.
    """
    where, order_by = _ORDERS[order]
    lock = " FOR UPDATE OF i SKIP LOCKED" if connection.vendor == "postgresql" else ""
    row = _fetchone(_PICK.format(where=where, order=order_by) + lock, [campaign_id, user_id])
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


def take_slot(item_id: int) -> None:
    _execute("UPDATE labeling_item SET open_slots = open_slots - 1 WHERE id = %s", [item_id])


def upsert_lease(
    campaign_id: int, item_id: int, user_id: int, leased_at: datetime, expires_at: datetime
) -> int:
    """Insert the lease, or renew this annotator's expired one in place; its id."""
    row = _fetchone(
        "INSERT INTO labeling_assignment"
        " (campaign_id, item_id, annotator_id, status, leased_at, expires_at, finished_at)"
        " VALUES (%s, %s, %s, 'active', %s, %s, NULL)"
        " ON CONFLICT (item_id, annotator_id) DO UPDATE SET status = 'active',"
        " campaign_id = excluded.campaign_id, leased_at = excluded.leased_at,"
        " expires_at = excluded.expires_at, finished_at = NULL"
        " RETURNING id",
        [campaign_id, item_id, user_id, _adapt(leased_at), _adapt(expires_at)],
    )
    assert row is not None
    return int(row[0])


def mark_submitted(assignment_id: int, item_id: int, finished_at: datetime) -> None:
    _execute(
        "UPDATE labeling_assignment SET status = 'submitted', finished_at = %s WHERE id = %s",
        [_adapt(finished_at), assignment_id],
    )
    _execute("UPDATE labeling_item SET n_submitted = n_submitted + 1 WHERE id = %s", [item_id])


def annotator_progress(campaign_id: int, user_id: int, cap: int | None = None) -> dict[str, Any]:
    """Done, and items left for this annotator (the current one included), in one statement.

    Open items, less the open ones they submitted or skipped, plus a lease of theirs that took
    an item's last slot. Counting the open items walks every one of them (5.6 ms of PostgreSQL
    at 10,000 items, growing with the campaign), so `next` passes a `cap`: it counts at most
    that many, and `available_capped` says the figure is then a lower bound.
    """
    if cap is None:
        open_count = (
            "SELECT COUNT(*) FROM labeling_item o WHERE o.campaign_id = %s AND o.open_slots > 0"
        )
    else:
        open_count = (
            "SELECT COUNT(*) FROM (SELECT 1 FROM labeling_item o"
            f" WHERE o.campaign_id = %s AND o.open_slots > 0 LIMIT {int(cap)}) o"
        )
    row = _fetchone(
        f"SELECT ({open_count}),"
        " SUM(CASE WHEN a.status = 'submitted' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN a.status IN ('submitted', 'skipped') AND i.open_slots > 0"
        "  THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN a.status = 'active' AND i.open_slots = 0 THEN 1 ELSE 0 END)"
        " FROM labeling_assignment a JOIN labeling_item i ON i.id = a.item_id"
        " WHERE a.campaign_id = %s AND a.annotator_id = %s",
        [campaign_id, campaign_id, user_id],
    )
    assert row is not None
    open_items, done, finished_open, holding_last = (int(v or 0) for v in row)
    return {
        "done": done,
        "available": max(0, open_items - finished_open + holding_last),
        "available_capped": cap is not None and open_items >= cap,
    }


_CAMPAIGN = Columns(Campaign)
_RUBRIC = Columns(Rubric)
_MEMBER = Columns(Membership, ["role", "paused_at", "pause_reason"])


_CAMPAIGN_SQL = (
    f"SELECT {_CAMPAIGN.sql('c')}, {_RUBRIC.sql('r')}, {_MEMBER.sql('m')}"
    " FROM labeling_campaign c JOIN labeling_rubric r ON r.id = c.rubric_id"
    " LEFT JOIN labeling_membership m ON m.campaign_id = c.id AND m.user_id = %s"
    " WHERE c.id = %s"
)


def campaign_with_member(campaign_id: int, user_id: int) -> tuple[Campaign, Membership] | None:
    """The campaign with its rubric, and the user's membership (role None when not a member)."""
    row = _fetchone(_CAMPAIGN_SQL, [user_id, campaign_id])
    if row is None:
        return None
    campaign, rubric, member = split_row(row, _CAMPAIGN, _RUBRIC, _MEMBER)
    campaign.rubric = rubric
    return campaign, member


_LEASE = Columns(
    Assignment,
    ["id", "campaign", "item", "annotator", "status", "leased_at", "expires_at", "finished_at"],
)
_LEASE_ITEM = Columns(Item, ["id", "campaign", "prompt", "model", "text"])
_LEASE_PROMPT = Columns(Prompt, ["id", "campaign", "text"])


_LEASES_SQL = (
    f"SELECT {_LEASE.sql('a')}, {_LEASE_ITEM.sql('i')}, {_LEASE_PROMPT.sql('p')}"
    " FROM labeling_assignment a JOIN labeling_item i ON i.id = a.item_id"
    " JOIN labeling_prompt p ON p.id = i.prompt_id"
    " WHERE a.campaign_id = %s AND a.annotator_id = %s AND a.status = 'active'"
    " AND a.expires_at > %s ORDER BY a.leased_at, a.id LIMIT %s"
)


def live_leases(campaign_id: int, user_id: int, now: datetime, limit: int) -> list[Assignment]:
    """The annotator's unexpired active leases, oldest first, with item and prompt text."""
    with connection.cursor() as cursor:
        cursor.execute(_LEASES_SQL, [campaign_id, user_id, _adapt(now), limit])
        rows = cursor.fetchall()
    leases = []
    for row in rows:
        lease, item, prompt = split_row(row, _LEASE, _LEASE_ITEM, _LEASE_PROMPT)
        item.prompt = prompt
        lease.item = item
        leases.append(lease)
    return leases


_OWN = Columns(Assignment)
_OWN_ITEM = Columns(Item, [f.name for f in Item._meta.concrete_fields if f.name != "provenance"])


_OWN_SQL = (
    f"SELECT {_OWN.sql('a')}, {_CAMPAIGN.sql('c')}, {_RUBRIC.sql('r')}, {_OWN_ITEM.sql('i')},"
    f" {_MEMBER.sql('m')}"
    " FROM labeling_assignment a JOIN labeling_campaign c ON c.id = a.campaign_id"
    " JOIN labeling_rubric r ON r.id = c.rubric_id JOIN labeling_item i ON i.id = a.item_id"
    " LEFT JOIN labeling_membership m"
    " ON m.campaign_id = a.campaign_id AND m.user_id = a.annotator_id"
    " WHERE a.id = %s AND a.annotator_id = %s"
)


def lock_own_assignment(assignment_id: int, user_id: int) -> tuple[Assignment, Membership] | None:
    """The user's assignment with campaign, rubric and item, locked on PostgreSQL; and the
    user's membership of its campaign (role None when they are no longer a member)."""
    lock = " FOR UPDATE OF a" if connection.vendor == "postgresql" else ""
    row = _fetchone(_OWN_SQL + lock, [assignment_id, user_id])
    if row is None:
        return None
    assignment, campaign, rubric, item, member = split_row(
        row, _OWN, _CAMPAIGN, _RUBRIC, _OWN_ITEM, _MEMBER
    )
    campaign.rubric = rubric
    assignment.campaign = campaign
    item.campaign = campaign
    assignment.item = item
    return assignment, member


_ANNOTATION_INSERT = [
    Annotation._meta.get_field(n)
    for n in (
        "item",
        "annotator",
        "assignment",
        "values",
        "time_spent_ms",
        "client_started_at",
        "client_submitted_at",
        "created_at",
    )
]


def insert_annotation(annotation: Annotation) -> None:
    """INSERT the (unsaved) annotation and set its id; created_at must be set by the caller."""
    params = [
        f.get_db_prep_save(getattr(annotation, f.attname), connection)  # type: ignore[union-attr]
        for f in _ANNOTATION_INSERT
    ]
    columns = ", ".join(f'"{f.column}"' for f in _ANNOTATION_INSERT)  # type: ignore[union-attr]
    marks = ", ".join(["%s"] * len(params))
    row = _fetchone(
        f"INSERT INTO labeling_annotation ({columns}) VALUES ({marks}) RETURNING id", params
    )
    assert row is not None
    annotation.pk = int(row[0])
    annotation._state.adding = False
    annotation._state.db = connection.alias
