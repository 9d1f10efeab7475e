"""The incremental summary refresh: recompute only the slices whose inputs changed.

What the `labeling.refresh_scores` task runs. It loads the campaign as the full refresh does
(summary.campaign_data), marks every (model, split, category) slice with a digest of its
inputs (marks.py), and recomputes with summary._slice_rows only the slices whose stored rows
carry another mark; the others keep their rows. The passes across slices (ranks, the held-out
check, paired comparisons: summary.finish_rows) then run over all rows, and only rows that
differ are rewritten. The result is the full refresh's, row for row (tests hold the two equal).

Dawid-Skene's bootstrap (a harm row's second opinion: reported, never served or ranked by) is
fitted after the served rows are written: at a million annotations its hundred refits per
model were two thirds of a full refresh. The rows go out with the block marked pending, then
`dawid_skene_fill` fits it and puts it on the rows whose inputs are still those (a newer
refresh's rows with other answers are left alone). Once filled, the rows are the ones a refresh
that fitted it inline would have written.

Two refreshes of one campaign may overlap (a request during a run enqueues the next one; a
redelivered task). Writes are serialized per campaign (an advisory lock on PostgreSQL, SQLite's
immediate transactions), and a refresh whose load began before the load of the rows already
written discards its result: the stored summary only moves forward.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from labeling.models import Campaign, Consensus, ScoreRefresh, ScoreSummary
from labeling.scores import summary
from labeling.scores.harm import (
    DS_DEFERRED,
    DS_PREVIOUS,
    dawid_skene_block,
    stored_dawid_skene,
)
from labeling.scores.marks import slice_marks

log = logging.getLogger(__name__)

# The columns a refresh compares to decide whether a row changed (computed_at aside).
_COMPARED = (
    "kind",
    "value",
    "low",
    "high",
    "sort_value",
    "rank",
    "higher_is_better",
    "n",
    "n_items",
    "n_labeled_items",
    "n_annotations",
    "method",
    "detail",
    "slice_mark",
)
_KEY = ("model_id", "split", "category", "dimension")
# pg_advisory_xact_lock's first key: this lock's namespace (the second is the campaign id).
_LOCK_CLASS = 0x5C0E


@dataclass
class Computed:
    """A refresh's result before it is written."""

    campaign_id: int
    loaded_at: datetime
    consensus_mark: datetime | None
    rows: list[ScoreSummary]
    slices_total: int
    slices_recomputed: int
    started: float = field(default_factory=time.perf_counter)
    # Seconds per phase (load, marks, slices, finish, write; dawid_skene when it is fitted
    # after the write): the bench reports them.
    seconds: dict[str, float] = field(default_factory=dict)
    # The Dawid-Skene fits owed to rows written as pending, by inputs digest.
    dawid_skene_owed: dict[str, Any] = field(default_factory=dict)


def score_summary_update(*, campaign_id: int, full: bool = False) -> int | None:
    """Refresh the campaign's summary, recomputing only changed slices (all with `full`).

    Returns the number of slices recomputed, or None when there was nothing to do (no such
    campaign, or a newer refresh had written already).
    """
    started = time.perf_counter()
    computed = summary_compute(campaign_id=campaign_id, full=full, defer_dawid_skene=True)
    if computed is None:
        return None
    computed.started = started
    if not summary_write(computed):
        return None
    dawid_skene_fill(computed)
    return computed.slices_recomputed


def summary_compute(
    *, campaign_id: int, full: bool = False, defer_dawid_skene: bool = False
) -> Computed | None:
    """The campaign's summary rows, not yet written; with `defer_dawid_skene`, the harm rows'
    Dawid-Skene blocks that need a fit are left pending and listed on the result (the caller
    runs `dawid_skene_fill` after `summary_write`)."""
    campaign = Campaign.objects.select_related("rubric").filter(pk=campaign_id).first()
    if campaign is None:
        return None
    loaded_at = timezone.now()
    # Cleared first: a request arriving while this runs schedules the next refresh.
    ScoreRefresh.objects.update_or_create(campaign_id=campaign_id, defaults={"pending": False})
    mark = Consensus.objects.filter(campaign_id=campaign_id).aggregate(m=Max("updated_at"))["m"]
    schema = campaign.rubric.schema
    clock = _Clock()
    data = summary.campaign_data(campaign)
    if defer_dawid_skene:
        data.cache[DS_DEFERRED] = {}
    clock.lap("load")
    slices = summary._slices(data)
    marks = slice_marks(data, schema, slices)
    kept = {} if full else _kept_rows(campaign_id, marks)
    if not full:
        # Dawid-Skene's bootstrap is recomputed with the campaign-wide rows, but its result
        # depends only on its answers: a stored block with the same inputs digest is reused.
        data.cache[DS_PREVIOUS] = stored_dawid_skene(campaign_id, summary.PPI_DIMENSION)
    clock.lap("marks")
    now = timezone.now()
    order = {d["name"]: i for i, d in enumerate(schema["dimensions"])}
    rows: list[ScoreSummary] = []
    recomputed = 0
    for sl in slices:
        key = sl[:3]
        if key in kept:
            wide = summary.CAMPAIGN_WIDE_DIMENSIONS
            fresh = summary._slice_rows(campaign_id, schema, data, sl, now, only=wide)
            for r in fresh:
                r.slice_mark = marks[key]
            mixed = [r for r in kept[key] if r.dimension not in wide] + fresh
            rows.extend(sorted(mixed, key=lambda r: order.get(r.dimension, len(order))))
            continue
        recomputed += 1
        fresh = summary._slice_rows(campaign_id, schema, data, sl, now)
        for r in fresh:
            r.slice_mark = marks[key]
        rows.extend(fresh)
    for r in rows:
        r.computed_at = now
    clock.lap("slices")
    summary.finish_rows(rows, schema, data)
    clock.lap("finish")
    return Computed(
        campaign_id=campaign_id,
        loaded_at=loaded_at,
        consensus_mark=mark,
        rows=rows,
        slices_total=len(slices),
        slices_recomputed=recomputed,
        seconds=clock.laps,
        dawid_skene_owed=data.cache.get(DS_DEFERRED) or {},
    )


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now


def _kept_rows(
    campaign_id: int, marks: dict[tuple[int, str, str], str]
) -> dict[tuple[int, str, str], list[ScoreSummary]]:
    """The stored rows of every slice whose mark still holds, as fresh unsaved rows without
    what the cross-slice passes add (they run again)."""
    by_slice: dict[tuple[int, str, str], list[ScoreSummary]] = {}
    stale: set[tuple[int, str, str]] = set()
    for r in ScoreSummary.objects.filter(campaign_id=campaign_id).order_by("id"):
        key = (r.model_id, r.split, r.category)
        if marks.get(key) != r.slice_mark or not r.slice_mark:
            stale.add(key)
            continue
        r.pk = None
        r.rank = None
        r.detail = {k: v for k, v in r.detail.items() if k not in summary.CROSS_SLICE_KEYS}
        by_slice.setdefault(key, []).append(r)
    return {k: v for k, v in by_slice.items() if k not in stale}


def summary_write(computed: Computed) -> bool:
    """Write the rows that changed; False (nothing written) when a refresh that loaded later
    has written already."""
    cid = computed.campaign_id
    write_started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, cid])
        newer = ScoreRefresh.objects.filter(campaign_id=cid, data_at__gt=computed.loaded_at)
        if newer.exists():
            log.info("scores of campaign %s: a newer refresh was written; discarded", cid)
            return False
        written = _write_rows(cid, computed.rows)
        seconds = time.perf_counter() - computed.started
        ScoreRefresh.objects.filter(campaign_id=cid).filter(
            Q(data_at__isnull=True) | Q(data_at__lte=computed.loaded_at)
        ).update(
            refreshed_at=computed.rows[0].computed_at if computed.rows else timezone.now(),
            refresh_s=seconds,
            consensus_mark=computed.consensus_mark,
            data_at=computed.loaded_at,
            slices_recomputed=computed.slices_recomputed,
            slices_total=computed.slices_total,
        )
    computed.seconds["write"] = time.perf_counter() - write_started
    log.info(
        "scores of campaign %s: %d of %d slices recomputed, %d rows written, %.1f s",
        cid,
        computed.slices_recomputed,
        computed.slices_total,
        written,
        time.perf_counter() - computed.started,
    )
    return True


def dawid_skene_fill(computed: Computed) -> int:
    """Fit the Dawid-Skene blocks a written refresh left pending and put each on the stored
    harm rows that still wait for it (same inputs digest); returns the number of rows filled.

    The fits run outside any transaction; the rows are updated under the campaign's write
    lock, so a refresh writing meanwhile either comes first (its rows carry its own digests,
    or the same ones when the answers did not change) or after (it reuses the filled block).
    """
    if not computed.dawid_skene_owed:
        return 0
    started = time.perf_counter()
    blocks = {
        digest: dawid_skene_block(pos, workers, answer, digest)
        for digest, (pos, workers, answer) in computed.dawid_skene_owed.items()
    }
    cid = computed.campaign_id
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, cid])
        rows = ScoreSummary.objects.filter(
            campaign_id=cid, dimension=summary.PPI_DIMENSION, split="all", category=""
        )
        changed = []
        for row in rows:
            estimate = (row.detail or {}).get("estimate") or {}
            block = estimate.get("dawid_skene") or {}
            if block.get("pending") and block.get("inputs") in blocks:
                estimate["dawid_skene"] = blocks[block["inputs"]]
                changed.append(row)
        ScoreSummary.objects.bulk_update(changed, ["detail"], batch_size=200)
        filled = len(changed)
    computed.seconds["dawid_skene"] = time.perf_counter() - started
    log.info(
        "scores of campaign %s: Dawid-Skene fitted for %d rows in %.1f s",
        cid,
        filled,
        computed.seconds["dawid_skene"],
    )
    return filled


def _write_rows(campaign_id: int, rows: list[ScoreSummary]) -> int:
    """Delete stored rows that vanished or changed, insert the changed and new ones, and stamp
    the rest with this refresh's time; returns the number inserted."""
    stored = {
        tuple(v[:4]): (v[4], v[5:])
        for v in ScoreSummary.objects.filter(campaign_id=campaign_id).values_list(
            *_KEY, "id", *_COMPARED
        )
    }
    fresh: list[ScoreSummary] = []
    keep: list[int] = []
    for r in rows:
        old = stored.pop(tuple(getattr(r, k) for k in _KEY), None)
        if old is not None and old[1] == tuple(getattr(r, k) for k in _COMPARED):
            keep.append(old[0])
        else:
            if old is not None:
                stored[("changed", old[0], "", "")] = (old[0], ())
            fresh.append(r)
    gone = [pk for pk, _ in stored.values()]
    if gone:
        ScoreSummary.objects.filter(pk__in=gone).delete()
    if keep and rows:
        ScoreSummary.objects.filter(campaign_id=campaign_id, pk__in=keep).update(
            computed_at=rows[0].computed_at
        )
    ScoreSummary.objects.bulk_create(fresh, batch_size=1000)
    return len(fresh)


def stored_rows(campaign_id: int) -> list[tuple[Any, ...]]:
    """The stored rows as comparable tuples (tests and the bench diff these)."""
    return list(
        ScoreSummary.objects.filter(campaign_id=campaign_id)
        .order_by(*_KEY)
        .values_list(*_KEY, *_COMPARED[:-1])
    )
