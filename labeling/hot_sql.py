"""Hand-written SQL for the statements `next` and `submit` run on every request.

Building and compiling an ORM query costs about a millisecond of CPU here, more than the
database spends running it; bench/annotate_loop.py measured the ORM at 40-48% of a request.
These statements are fixed, so they are written once, for PostgreSQL and SQLite (3.35+ for
RETURNING). Everything else stays in the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection


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


def pick_item(campaign_id: int, user_id: int) -> tuple[int, str, int, int, str] | None:
    """(item id, text, model id, prompt id, prompt text) of the next item, locked on PostgreSQL.

    Fewest open slots first (finish items others started), then id; never an item this
    annotator holds, submitted or skipped.
    """
    lock = " FOR UPDATE OF i SKIP LOCKED" if connection.vendor == "postgresql" else ""
    row = _fetchone(
        "SELECT i.id, i.text, i.model_id, p.id, p.text FROM labeling_item i"
        " JOIN labeling_prompt p ON p.id = i.prompt_id"
        " WHERE i.campaign_id = %s AND i.open_slots > 0 AND NOT EXISTS ("
        "  SELECT 1 FROM labeling_assignment u WHERE u.item_id = i.id AND u.annotator_id = %s"
        "  AND u.status IN ('active', 'submitted', 'skipped'))"
        " ORDER BY i.open_slots, i.id LIMIT 1" + lock,
        [campaign_id, user_id],
    )
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


def annotator_progress(campaign_id: int, user_id: int) -> dict[str, int]:
    """Done, and items left for this annotator (the current one included), in one statement.

    Open items, less the open ones they submitted or skipped, plus a lease of theirs that took
    an item's last slot.
    """
    row = _fetchone(
        "SELECT"
        " (SELECT COUNT(*) FROM labeling_item o WHERE o.campaign_id = %s AND o.open_slots > 0),"
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
    return {"done": done, "available": max(0, open_items - finished_open + holding_last)}
