"""Hand-written SQL for the refit's bulk read and write (100k labels in a few seconds).

The ORM's bulk_create spends most of a 30k-row upsert compiling SQL and building instances;
one executemany of a fixed statement does the same work in a fraction of the time. The
statement is plain SQL that SQLite (>= 3.24) and PostgreSQL both accept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection

from core.rawsql import hot_cursor
from labeling.models import Annotation, Consensus, Item, QualityState
from labeling.quality.stats.votes import Vote

BATCH = 5000
_TRUTH = ("gold", "adjudicated")
_COLUMNS = (
    "campaign_id",
    "item_id",
    "dimension",
    "value",
    "confidence",
    "posterior",
    "method",
    "n_labels",
    "updated_at",
)


def _extract(dim_name: str) -> str:
    # Pull single dimensions out in SQL: decoding 100k whole JSON objects in Python cost more
    # than the fit itself. The name is a validated identifier ([a-z][a-z0-9_]*), safe to inline.
    if connection.vendor == "postgresql":
        return f"a.\"values\" -> '{dim_name}'"
    return f"json_extract(a.\"values\", '$.{dim_name}')"


def load_annotations(
    campaign_id: int, dims: Sequence[dict[str, Any]]
) -> list[tuple[int, int, dict[str, Any]]]:
    """(item, annotator, {dimension: value}) of every annotation in the campaign: one query.

    Only the given dimensions are read; an answer left out is absent from the dict.
    """
    a, i = Annotation._meta.db_table, Item._meta.db_table
    columns = "".join(f", {_extract(d['name'])}" for d in dims)
    sql = (
        f'SELECT a."item_id", a."annotator_id"{columns} FROM "{a}" a '
        f'JOIN "{i}" i ON i."id" = a."item_id" WHERE i."campaign_id" = %s'
    )
    # SQLite's json_extract gives scalars as SQL values and arrays as JSON text; on PostgreSQL
    # Django has psycopg hand jsonb back as text (JSONField decodes it), so every value is text.
    on_pg = connection.vendor == "postgresql"
    decode = [on_pg or d["type"] in ("multi_choice", "spans") for d in dims]
    names = [d["name"] for d in dims]
    with connection.cursor() as cur:
        cur.execute(sql, [campaign_id])
        rows = cur.fetchall()
    out = []
    for row in rows:
        values = {
            name: json.loads(v) if dec else v
            for name, dec, v in zip(names, decode, row[2:], strict=True)
            if v is not None
        }
        out.append((row[0], row[1], values))
    return out


def _upsert_head() -> str:
    columns = ", ".join(f'"{c}"' for c in _COLUMNS)
    return f'INSERT INTO "{Consensus._meta.db_table}" ({columns})'


def _upsert_parts() -> tuple[str, str]:
    """One row's VALUES group, and the ON CONFLICT clause."""
    table = Consensus._meta.db_table
    json_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    params = ", ".join(json_param if c in ("value", "posterior") else "%s" for c in _COLUMNS)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in _COLUMNS[3:])
    truth = ", ".join(f"'{m}'" for m in _TRUTH)
    tail = (
        f' ON CONFLICT ("item_id", "dimension") DO UPDATE SET {updates} '
        f'WHERE "{table}"."method" NOT IN ({truth}) '
        # A submit's vote written while a refit was fitting is newer than the fit: keep it
        # (the submit has queued the next refit, which will include its label).
        f'AND "{table}"."updated_at" <= excluded."updated_at"'
    )
    return f"({params})", tail


def _upsert_sql() -> str:
    values, tail = _upsert_parts()
    return f"{_upsert_head()} VALUES {values}{tail}"


def _vote_rows(
    campaign_id: int, votes: dict[str, dict[int, Vote]], now: datetime
) -> Iterable[Sequence[Any]]:
    stamp = connection.ops.adapt_datetimefield_value(now)
    return (
        (
            campaign_id,
            item_id,
            dimension,
            json.dumps(v.value),
            min(max(v.confidence, 0.0), 1.0),
            None if v.posterior is None else json.dumps(v.posterior),
            v.method,
            v.n_labels,
            stamp,
        )
        for dimension, per_item in votes.items()
        for item_id, v in per_item.items()
    )


def upsert_votes(campaign_id: int, votes: dict[str, dict[int, Vote]], now: datetime) -> int:
    """Write every fitted vote; rows holding gold or an adjudication, or written after `now`,
    are left as they are."""
    sql = _upsert_sql()
    batch: list[Sequence[Any]] = []
    written = 0
    with hot_cursor() as cur:
        for row in _vote_rows(campaign_id, votes, now):
            batch.append(row)
            if len(batch) == BATCH:
                cur.executemany(sql, batch)
                written, batch = written + len(batch), []
        if batch:
            cur.executemany(sql, batch)
            written += len(batch)
    return written


def delete_unfitted(campaign_id: int, now: datetime) -> int:
    """Drop the fitted rows this refit did not write (a conditional dimension that no longer
    applies, say). Rows written after `now` (a submit's vote during the fit) stay."""
    return (
        Consensus.objects.filter(campaign_id=campaign_id, updated_at__lt=now)
        .exclude(method__in=_TRUTH)
        .delete()[0]
    )


# --- the per-submit statements: prebuilt once, no ORM compile on the hot path ------------------


def upsert_item_votes(
    campaign_id: int, item_id: int, votes: dict[str, Vote], now: datetime
) -> None:
    """Write one item's votes and drop its other fitted rows (a conditional dimension that no
    longer applies); gold and adjudicated rows stay, as in the refit.

    On PostgreSQL the delete and the upsert are one statement (the delete in a CTE: it touches
    only the dimensions the upsert does not); elsewhere two.
    """
    table = Consensus._meta.db_table
    truth = ", ".join(f"'{m}'" for m in _TRUTH)
    keep = ", ".join(["%s"] * len(votes))
    delete = f'DELETE FROM "{table}" WHERE "item_id" = %s AND "method" NOT IN ({truth})'
    if votes:
        delete += f' AND "dimension" NOT IN ({keep})'
    delete_params: list[Any] = [item_id, *votes]
    if connection.vendor == "postgresql" and votes:
        rows = list(_vote_rows(campaign_id, {n: {item_id: v} for n, v in votes.items()}, now))
        values, upsert_tail = _upsert_parts()
        sql = (
            f"WITH gone AS ({delete}) "
            + _upsert_head()
            + " VALUES "
            + ", ".join([values] * len(rows))
            + upsert_tail
        )
        with hot_cursor() as cur:
            cur.execute(sql, [*delete_params, *(v for row in rows for v in row)])
        return
    if votes:
        upsert_votes(campaign_id, {name: {item_id: v} for name, v in votes.items()}, now)
    with hot_cursor() as cur:
        cur.execute(delete, delete_params)


def flag_refit(campaign_id: int, now: datetime, stale: datetime) -> str:
    """Mark the campaign's refit as wanted: "flipped" (enqueue one), "waiting" (one already is),
    or "missing" (no state row yet: the caller creates it). A flag set before `stale` counts as
    not set: its message was lost with a killed worker. One statement on PostgreSQL (the update
    in a CTE), two elsewhere."""
    table = QualityState._meta.db_table
    update = (
        f'UPDATE "{table}" SET "refit_scheduled" = %s, "refit_requested_at" = %s '
        f'WHERE "campaign_id" = %s AND ("refit_scheduled" = %s '
        f'OR "refit_requested_at" IS NULL OR "refit_requested_at" < %s)'
    )
    args = [True, _stamp(now), campaign_id, False, _stamp(stale)]
    exists = f'SELECT 1 FROM "{table}" WHERE "campaign_id" = %s'
    with hot_cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"WITH flip AS ({update} RETURNING 1)"
                f" SELECT (SELECT COUNT(*) FROM flip), EXISTS ({exists})",
                [*args, campaign_id],
            )
            flipped, found = cur.fetchone()
            if flipped:
                return "flipped"
            return "waiting" if found else "missing"
        cur.execute(update, args)
        if cur.rowcount:
            return "flipped"
        cur.execute(exists, [campaign_id])
        return "waiting" if cur.fetchone() else "missing"


def _stamp(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)
