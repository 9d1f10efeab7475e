"""Hand-written SQL for the statements `next` and `submit` run on every request.

Building and compiling an ORM query costs about a millisecond of CPU here, more than the
database spends running it; bench/annotate_loop.py measured the ORM at 40-48% of a request.
These statements are fixed, so they are written once, for PostgreSQL and SQLite (3.35+ for
RETURNING). Everything else stays in the ORM.

Rows come back as model instances (core.rawsql.Columns), as the ORM would build them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from django.db import connection

from core.rawsql import Columns, hot_cursor, split_row
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
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def _execute(sql: str, params: list[Any]) -> int:
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


_PICK = (
    "SELECT i.id, i.text, i.model_id, p.id, p.text, p.split, i.harm_probability"
    " FROM labeling_item i"
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
    # Fewest answers first: gold answers spread over every gold item instead of piling onto
    # the first few by random key, so sensitivity and specificity are measured on as many items
    # as the gold allows (their variance is clustered by item: labeling/scores/stats/noise.py).
    "gold": ("i.is_gold", "i.n_submitted, i.random_key"),
}
# For an annotator the campaign does not let see held-out prompts (Campaign.private_restricted):
# a fixed variant of each statement, so the unrestricted ones keep their plans.
_PUBLIC_ONLY = " AND p.split = 'public'"


def _without(categories: tuple[str, ...]) -> str:
    """For an annotator who opted out of hazard categories (labeling/care): one parameter per
    category, checked on the prompt row the statement joins anyway."""
    if not categories:
        return ""
    return " AND p.category NOT IN (" + ", ".join(["%s"] * len(categories)) + ")"


def _where(order: str, public_only: bool, without: tuple[str, ...] = ()) -> tuple[str, str]:
    where, order_by = _ORDERS[order]
    where = where + _PUBLIC_ONLY if public_only else where
    return where + _without(without), order_by


def _pick(
    campaign_id: int, user_id: int, order: str, public_only: bool, without: tuple[str, ...] = ()
) -> tuple[Any, ...] | None:
    where, order_by = _where(order, public_only, without)
    lock = " FOR UPDATE OF i SKIP LOCKED" if connection.vendor == "postgresql" else ""
    return _fetchone(
        _PICK.format(where=where, order=order_by) + lock, [campaign_id, *without, user_id]
    )


def pick_item(
    campaign_id: int,
    user_id: int,
    order: str = "random",
    *,
    public_only: bool = False,
    without: tuple[str, ...] = (),
) -> tuple[int, str, int, int, str] | None:
    """(item id, text, model id, prompt id, prompt text) of the next item, locked on PostgreSQL.

    Fewest open slots first (finish items others started), then the classifier's priority
    (order "priority") or the item's fixed random key; "gold" picks among gold items instead,
    which sit outside the open-slot queue, the least answered first. Never an item this
    annotator holds, submitted or skipped; with `public_only`, never an item of a private
    prompt; never one whose prompt's category is in `without`.
    """
    row = _pick(campaign_id, user_id, order, public_only, without)
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])


# The sampling record: an item's first lease says how the queue chose it (the scores'
# design-based estimates read it); later leases of the item leave it as it is.
_FIRST_PICK = (
    "first_pick = CASE WHEN first_pick = '' THEN %s ELSE first_pick END,"
    " first_pick_probability = CASE WHEN first_pick = '' THEN %s"
    " ELSE first_pick_probability END"
)


def take_slot(item_id: int, pick: str = "", probability: float | None = None) -> None:
    _execute(
        f"UPDATE labeling_item SET open_slots = open_slots - 1, {_FIRST_PICK} WHERE id = %s",
        [pick, probability, item_id],
    )


def upsert_lease(
    campaign_id: int,
    item_id: int,
    user_id: int,
    leased_at: datetime,
    expires_at: datetime,
    pick: str = "",
    probability: float | None = None,
) -> int:
    """Insert the lease, or renew this annotator's expired one in place; its id."""
    row = _fetchone(
        "INSERT INTO labeling_assignment (campaign_id, item_id, annotator_id, status,"
        " leased_at, expires_at, finished_at, pick, pick_probability)"
        " VALUES (%s, %s, %s, 'active', %s, %s, NULL, %s, %s)"
        " ON CONFLICT (item_id, annotator_id) DO UPDATE SET status = 'active',"
        " campaign_id = excluded.campaign_id, leased_at = excluded.leased_at,"
        " expires_at = excluded.expires_at, finished_at = NULL, pick = excluded.pick,"
        " pick_probability = excluded.pick_probability"
        " RETURNING id",
        [campaign_id, item_id, user_id, _adapt(leased_at), _adapt(expires_at), pick, probability],
    )
    assert row is not None
    return int(row[0])


def record_exposure(
    campaign_id: int, prompt_id: int, item_id: int, user_id: int, shown_at: datetime
) -> None:
    """Log that this annotator was shown this private prompt (PrivateExposure)."""
    _execute(
        "INSERT INTO labeling_privateexposure"
        " (campaign_id, prompt_id, item_id, annotator_id, shown_at) VALUES (%s, %s, %s, %s, %s)",
        [campaign_id, prompt_id, item_id, user_id, _adapt(shown_at)],
    )


def mark_submitted(assignment_id: int, item_id: int, finished_at: datetime) -> None:
    _execute(
        "UPDATE labeling_assignment SET status = 'submitted', finished_at = %s WHERE id = %s",
        [_adapt(finished_at), assignment_id],
    )
    _execute("UPDATE labeling_item SET n_submitted = n_submitted + 1 WHERE id = %s", [item_id])


_PICK_AND_LEASE_PG = (
    "WITH picked AS ("
    " SELECT i.id AS item_id, i.text AS item_text, i.model_id, p.id AS prompt_id,"
    " p.text AS prompt_text, p.split, i.harm_probability FROM labeling_item i"
    " JOIN labeling_prompt p ON p.id = i.prompt_id"
    " WHERE i.campaign_id = %s AND {where} AND NOT EXISTS ("
    "  SELECT 1 FROM labeling_assignment u WHERE u.item_id = i.id AND u.annotator_id = %s"
    "  AND u.status IN ('active', 'submitted', 'skipped'))"
    " ORDER BY {order} LIMIT 1 FOR UPDATE OF i SKIP LOCKED),"
    f" slot AS (UPDATE labeling_item SET open_slots = open_slots - 1, {_FIRST_PICK}"
    "  WHERE id IN (SELECT item_id FROM picked) AND %s),"
    " lease AS (INSERT INTO labeling_assignment (campaign_id, item_id, annotator_id, status,"
    "  leased_at, expires_at, finished_at, pick, pick_probability)"
    "  SELECT %s, item_id, %s, 'active', %s, %s, NULL, %s, %s FROM picked"
    "  ON CONFLICT (item_id, annotator_id) DO UPDATE SET status = 'active',"
    "  campaign_id = excluded.campaign_id, leased_at = excluded.leased_at,"
    "  expires_at = excluded.expires_at, finished_at = NULL, pick = excluded.pick,"
    "  pick_probability = excluded.pick_probability RETURNING id),"
    " seen AS (INSERT INTO labeling_privateexposure"
    "  (campaign_id, prompt_id, item_id, annotator_id, shown_at)"
    "  SELECT %s, prompt_id, item_id, %s, %s FROM picked WHERE split = 'private')"
    " SELECT picked.item_id, picked.item_text, picked.model_id, picked.prompt_id,"
    " picked.prompt_text, lease.id, picked.harm_probability FROM picked, lease"
)

# (item id, text, model id, prompt id, prompt text, lease id, harm probability)
Leased = tuple[int, str, int, int, str, int, float | None]


def pick_and_lease_pg(
    campaign_id: int,
    user_id: int,
    order: str,
    leased_at: Any,
    expires_at: Any,
    *,
    public_only: bool = False,
    probability: float | None = None,
    without: tuple[str, ...] = (),
) -> tuple[str, list[Any]]:
    """PostgreSQL's one statement for `pick_and_lease`, and its parameters in order."""
    where, order_by = _where(order, public_only, without)
    pick, lease = [campaign_id, *without, user_id], [campaign_id, user_id, leased_at, expires_at]
    record = [order, probability]
    return (
        _PICK_AND_LEASE_PG.format(where=where, order=order_by),
        [*pick, *record, order != "gold", *lease, *record, campaign_id, user_id, leased_at],
    )


def pick_and_lease(
    campaign_id: int,
    user_id: int,
    order: str,
    leased_at: datetime,
    expires_at: datetime,
    *,
    public_only: bool = False,
    probability: float | None = None,
    without: tuple[str, ...] = (),
) -> Leased | None:
    """Pick the next item (as `pick_item`), take its slot (not for gold), lease it, and log the
    exposure when its prompt is private. The lease records `order` as how the item was picked
    and `probability` as the chance that order was drawn; an item's first lease records them
    on the item too (the sampling record).

    (item id, text, model id, prompt id, prompt text, lease id, harm probability), or None
    when nothing is left.
    On PostgreSQL it is one statement (data-modifying CTEs), where the four would be four
    round trips; SQLite runs them one after the other inside its write transaction (the
    exposure's INSERT only for a private prompt).
    """
    takes_slot = order != "gold"
    if connection.vendor == "postgresql":
        row = _fetchone(
            *pick_and_lease_pg(
                campaign_id,
                user_id,
                order,
                _adapt(leased_at),
                _adapt(expires_at),
                public_only=public_only,
                probability=probability,
                without=without,
            )
        )
        if row is None:
            return None
        return (row[0], row[1], row[2], row[3], row[4], int(row[5]), row[6])
    picked = _pick(campaign_id, user_id, order, public_only, without)
    if picked is None:
        return None
    item_id, text, model_id, prompt_id, prompt_text, split, harm = picked
    if takes_slot:
        take_slot(item_id, order, probability)
    lease_id = upsert_lease(
        campaign_id, item_id, user_id, leased_at, expires_at, order, probability
    )
    if split == "private":
        record_exposure(campaign_id, prompt_id, item_id, user_id, leased_at)
    return (item_id, text, model_id, prompt_id, prompt_text, lease_id, harm)


def annotator_progress(
    campaign_id: int,
    user_id: int,
    cap: int | None = None,
    *,
    public_only: bool = False,
    without: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Done, and items left for this annotator (the current one included), in one statement.

    Open items, less the open ones they submitted or skipped, plus a lease of theirs that took
    an item's last slot. Counting the open items walks every one of them (5.6 ms of PostgreSQL
    at 10,000 items, growing with the campaign), so `next` passes a `cap`: it counts at most
    that many, and `available_capped` says the figure is then a lower bound. With
    `public_only` (an annotator kept off private prompts) items of private prompts don't count,
    nor, for one who opted out of hazard categories (`without`), items of those categories.
    """
    items = "labeling_item o"
    finished = "a.status IN ('submitted', 'skipped') AND i.open_slots > 0"
    mine = "labeling_assignment a JOIN labeling_item i ON i.id = a.item_id"
    marks = ", ".join(["%s"] * len(without))
    if public_only or without:
        split = " AND p.split = 'public'" if public_only else ""
        items += f" JOIN labeling_prompt p ON p.id = o.prompt_id{split}"
        items += f" AND p.category NOT IN ({marks})" if without else ""
        finished += " AND ap.split = 'public'" if public_only else ""
        finished += f" AND ap.category NOT IN ({marks})" if without else ""
        mine += " JOIN labeling_prompt ap ON ap.id = i.prompt_id"
    if cap is None:
        open_count = f"SELECT COUNT(*) FROM {items} WHERE o.campaign_id = %s AND o.open_slots > 0"
    else:
        open_count = (
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {items}"
            f" WHERE o.campaign_id = %s AND o.open_slots > 0 LIMIT {int(cap)}) o"
        )
    row = _fetchone(
        f"SELECT ({open_count}),"
        " SUM(CASE WHEN a.status = 'submitted' THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN {finished} THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN a.status = 'active' AND i.open_slots = 0 THEN 1 ELSE 0 END)"
        f" FROM {mine} WHERE a.campaign_id = %s AND a.annotator_id = %s",
        [*without, campaign_id, *without, campaign_id, user_id],
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
_MEMBER = Columns(Membership, ["role", "paused_at", "pause_reason", "private_access"])


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
_LEASE_ITEM = Columns(Item, ["id", "campaign", "prompt", "model", "text", "harm_probability"])
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
    with hot_cursor() as cursor:
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


def _annotation_params(annotation: Annotation) -> tuple[str, str, list[Any]]:
    params = [
        f.get_db_prep_save(getattr(annotation, f.attname), connection)  # type: ignore[union-attr]
        for f in _ANNOTATION_INSERT
    ]
    columns = ", ".join(f'"{f.column}"' for f in _ANNOTATION_INSERT)  # type: ignore[union-attr]
    return columns, ", ".join(["%s"] * len(params)), params


def _saved(annotation: Annotation, pk: int) -> None:
    annotation.pk = pk
    annotation._state.adding = False
    annotation._state.db = connection.alias


def insert_annotation(annotation: Annotation) -> None:
    """INSERT the (unsaved) annotation and set its id; created_at must be set by the caller."""
    columns, marks, params = _annotation_params(annotation)
    row = _fetchone(
        f"INSERT INTO labeling_annotation ({columns}) VALUES ({marks}) RETURNING id", params
    )
    assert row is not None
    _saved(annotation, int(row[0]))


# (campaign id, annotator id, day, time ms) to count into labeling_dailyexposure.
Exposure = tuple[int, int, date, int]

_EXPOSURE_UPSERT = (
    "INSERT INTO labeling_dailyexposure"
    " (campaign_id, annotator_id, day, items, time_ms, break_at_ms)"
    " VALUES (%s, %s, %s, 1, %s, 0)"
    " ON CONFLICT (campaign_id, annotator_id, day) DO UPDATE SET"
    " items = labeling_dailyexposure.items + excluded.items,"
    " time_ms = labeling_dailyexposure.time_ms + excluded.time_ms"
)


def _exposure_params(exposure: Exposure) -> list[Any]:
    campaign_id, user_id, day, time_ms = exposure
    return [campaign_id, user_id, connection.ops.adapt_datefield_value(day), time_ms]


def record_submission(
    annotation: Annotation,
    assignment_id: int,
    item_id: int,
    finished_at: datetime,
    exposure: Exposure | None = None,
) -> list[dict[str, Any]]:
    """Store the (unsaved) annotation, mark its assignment submitted and count it on the item
    (and, with `exposure`, into the annotator's exposure of the day, labeling/care); return
    the values of every annotation of the item, this one included (for its vote).

    On PostgreSQL it is one statement (data-modifying CTEs; the item's other annotations are
    read from the statement's snapshot, this one from its RETURNING), instead of four round
    trips; SQLite runs them one after the other inside its write transaction.
    """
    if connection.vendor != "postgresql":
        insert_annotation(annotation)
        mark_submitted(assignment_id, item_id, finished_at)
        if exposure is not None:
            _execute(_EXPOSURE_UPSERT, _exposure_params(exposure))
        return item_values(item_id)
    columns, marks, params = _annotation_params(annotation)
    exp_cte = f", exp AS ({_EXPOSURE_UPSERT})" if exposure is not None else ""
    exp_params = _exposure_params(exposure) if exposure is not None else []
    with hot_cursor() as cursor:
        cursor.execute(
            f"WITH ins AS (INSERT INTO labeling_annotation ({columns}) VALUES ({marks})"
            ' RETURNING id, "values"),'
            " asg AS (UPDATE labeling_assignment SET status = 'submitted', finished_at = %s"
            "  WHERE id = %s),"
            " itm AS (UPDATE labeling_item SET n_submitted = n_submitted + 1 WHERE id = %s)"
            f"{exp_cte}"
            ' SELECT id, "values" FROM ins'
            ' UNION ALL SELECT NULL, "values" FROM labeling_annotation WHERE item_id = %s',
            [*params, _adapt(finished_at), assignment_id, item_id, *exp_params, item_id],
        )
        rows = cursor.fetchall()
    own = [int(pk) for pk, _ in rows if pk is not None]
    assert len(own) == 1
    _saved(annotation, own[0])
    return [_json(v) for _, v in rows]


def item_values(item_id: int) -> list[dict[str, Any]]:
    """Every annotation's values for one item (unique (item, annotator) index)."""
    with hot_cursor() as cursor:
        cursor.execute('SELECT "values" FROM labeling_annotation WHERE item_id = %s', [item_id])
        rows = cursor.fetchall()
    return [_json(v) for (v,) in rows]


def _json(value: Any) -> Any:
    # Django has psycopg hand jsonb back as text (JSONField decodes it); SQLite gives text too.
    return json.loads(value) if isinstance(value, str) else value


# --- care for annotators (labeling/care): read on `next` only in campaigns that use it ---------

_CARE_SQL = (
    "SELECT a.warning_acknowledged_at, a.hazard_opt_outs, e.items, e.time_ms, e.break_at_ms"
    " FROM (SELECT 1 AS one) x"
    " LEFT JOIN labeling_annotatorcare a ON a.campaign_id = %s AND a.user_id = %s"
    " LEFT JOIN labeling_dailyexposure e"
    " ON e.campaign_id = %s AND e.annotator_id = %s AND e.day = %s"
)


def care_row(campaign_id: int, user_id: int, day: date) -> tuple[bool, list[str], int, int, int]:
    """(acknowledged the warning, hazard opt-outs, items, time_ms, break_at_ms today), in one
    statement over two unique indexes."""
    row = _fetchone(
        _CARE_SQL,
        [campaign_id, user_id, campaign_id, user_id, connection.ops.adapt_datefield_value(day)],
    )
    assert row is not None
    acknowledged, opt_outs, items, time_ms, break_at_ms = row
    outs = _json(opt_outs) if opt_outs is not None else []
    return (
        acknowledged is not None,
        [str(c) for c in outs] if isinstance(outs, list) else [],
        int(items or 0),
        int(time_ms or 0),
        int(break_at_ms or 0),
    )


def add_exposure(exposure: Exposure) -> None:
    """Count an item (and the time spent on it) into the annotator's exposure of the day."""
    _execute(_EXPOSURE_UPSERT, _exposure_params(exposure))
