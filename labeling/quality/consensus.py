"""Consensus labels: the cheap vote on submit, and the debounced full refit.

On submit the item's consensus is re-voted from its own annotations (a few indexed queries) and
a refit of the whole campaign is scheduled; a burst of submits schedules one refit, and at most
one refit of a campaign runs at a time. The refit fits the campaign's crowd-kit method per
categorical dimension (gold answers given to Dawid-Skene as known truth), binary relevance for
multi-choice, mean and median for Likert and character votes for spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.models import Campaign, Item, QualityState
from labeling.quality.consensus_io import (
    delete_unfitted,
    flag_refit,
    load_annotations,
    upsert_item_votes,
    upsert_votes,
)
from labeling.quality.stats.votes import Vote, vote_dimension
from labeling.queue import sql
from labeling.rubric import Dimension, dimension_applies
from labeling.scores.refresh import score_summary_request

# Sent by name after every refit. The classifier app owns retraining and registers a task of
# this name (classifiers.tasks.RETRAIN_IF_DUE); labeling never imports it, and a test checks
# that the name is registered.
RETRAIN_HOOK = "classifiers.retrain_if_due"
# Submits within this window share one refit (setting QUALITY_REFIT_DEBOUNCE_S).
REFIT_DEBOUNCE_S = 10
REFIT_STALE = timedelta(minutes=15)  # a refit "running" longer than this is taken as dead


def answers_for(dim: Dimension, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The answers to one dimension from the annotations where it applied.

    An optional spans dimension left empty is an answer ("no span here"); other dimensions
    count only when answered.
    """
    out = []
    for values in rows:
        if not dimension_applies(dim, values):
            continue
        if dim["type"] == "spans":
            out.append(values.get(dim["name"]) or [])
        elif dim["name"] in values:
            out.append(values[dim["name"]])
    return out


def item_votes(
    schema: dict[str, Any], rows: Sequence[dict[str, Any]], text: str
) -> dict[str, Vote]:
    """Vote every dimension; a conditional one only when its parent's consensus triggers it."""
    votes: dict[str, Vote] = {}
    consensus_values: dict[str, Any] = {}
    for dim in schema["dimensions"]:
        if not dimension_applies(dim, consensus_values):
            continue
        vote = vote_dimension(dim, answers_for(dim, rows), text)
        if vote is not None:
            votes[dim["name"]] = vote
            consensus_values[dim["name"]] = vote.value
    return votes


def consensus_vote_item(
    *,
    item: Item,
    campaign: Campaign,
    now: datetime | None = None,
    answers: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Re-vote one item from its own annotations (the cheap update on submit); `answers`, when
    given, are their values (read in the same transaction)."""
    rows = sql.item_values(item.pk) if answers is None else answers
    votes = item_votes(campaign.rubric.schema, rows, item.text)
    upsert_item_votes(campaign.pk, item.pk, votes, now or timezone.now())


def schedule_refit(campaign_id: int) -> bool:
    """Enqueue a refit after commit unless one is already waiting; True when enqueued."""
    now = timezone.now()
    state = flag_refit(campaign_id, now, now - REFIT_STALE)
    if state == "waiting":
        return False
    if state == "missing":
        _, created = QualityState.objects.get_or_create(
            campaign_id=campaign_id,
            defaults={"refit_scheduled": True, "refit_requested_at": now},
        )
        if not created:
            return False
    transaction.on_commit(lambda: _enqueue_refit(campaign_id))
    return True


def _enqueue_refit(campaign_id: int, countdown: float | None = None) -> None:
    from django.conf import settings

    from labeling.quality.tasks import refit_consensus

    if countdown is None:
        countdown = getattr(settings, "QUALITY_REFIT_DEBOUNCE_S", REFIT_DEBOUNCE_S)
    refit_consensus.apply_async(args=(campaign_id,), countdown=countdown)


def refit_claim(campaign_id: int, now: datetime, owner: str = "") -> bool:
    """Take the campaign's refit slot; False while another refit of it is running.

    Clearing `refit_scheduled` here, before the data is read, lets submits that land during the
    fit schedule the next refit. `owner` (the Celery task's id) takes back a slot it already
    holds: the broker redelivers the task of a worker killed mid-refit, under the same id.
    """
    QualityState.objects.get_or_create(campaign_id=campaign_id)
    free = Q(refit_started_at__isnull=True) | Q(refit_started_at__lt=now - REFIT_STALE)
    if owner:
        free |= Q(refit_owner=owner)
    return bool(
        QualityState.objects.filter(free, campaign_id=campaign_id).update(
            refit_started_at=now, refit_scheduled=False, refit_owner=owner
        )
    )


def refit_running(state: QualityState, now: datetime) -> bool:
    """A refit holds the slot, and has not held it so long that it is taken as dead."""
    started = state.refit_started_at
    return started is not None and started >= now - REFIT_STALE


# --- the full refit (worker side) -------------------------------------------------------------


def _load(campaign: Campaign) -> tuple[list[tuple[int, int, dict[str, Any]]], dict[int, Any]]:
    """Every annotation of the campaign in one query, and the gold items' expected values."""
    dims = [d for d in campaign.rubric.schema["dimensions"] if d["type"] != "text"]
    rows = load_annotations(campaign.pk, dims)
    gold = dict(
        Item.objects.filter(campaign=campaign, is_gold=True).values_list("id", "gold_values")
    )
    return rows, gold


def _triples(
    dim: Dimension, rows: Sequence[tuple[int, int, dict[str, Any]]], allowed: set[int] | None
) -> list[tuple[int, int, Any]]:
    out = []
    for item_id, worker, values in rows:
        if allowed is not None and item_id not in allowed:
            continue
        if not dimension_applies(dim, values):
            continue
        if dim["type"] == "spans":
            out.append((item_id, worker, values.get(dim["name"]) or []))
        elif dim["name"] in values:
            out.append((item_id, worker, values[dim["name"]]))
    return out


def _texts_of(campaign: Campaign, item_ids: set[int]) -> dict[int, str]:
    if not item_ids:
        return {}
    return dict(Item.objects.filter(campaign=campaign, pk__in=item_ids).values_list("id", "text"))


def fit_campaign(campaign: Campaign) -> tuple[dict[str, dict[int, Vote]], dict[str, Any]]:
    """Fit every dimension; returns (votes per dimension, per-dimension fit details)."""
    from labeling.quality.stats.fit import fit_dimension

    rows, gold = _load(campaign)
    votes: dict[str, dict[int, Vote]] = {}
    details: dict[str, Any] = {}
    for dim in campaign.rubric.schema["dimensions"]:
        parent = dim.get("show_if")
        allowed = None
        if parent:
            # A conditional dimension has a consensus only where its parent's consensus asks.
            wanted = set(parent["in"])
            parent_votes = votes.get(parent["dimension"], {})
            allowed = {
                i
                for i, v in parent_votes.items()
                if (set(v.value) & wanted if isinstance(v.value, list) else v.value in wanted)
            } | {i for i, g in gold.items() if dimension_applies(dim, g or {})}
        triples = _triples(dim, rows, allowed)
        dim_gold = {i: g[dim["name"]] for i, g in gold.items() if g and dim["name"] in g}
        texts = (
            _texts_of(campaign, {t for t, _, a in triples if a}) if dim["type"] == "spans" else {}
        )
        fitted = fit_dimension(dim, triples, campaign.consensus_method, dim_gold, texts)
        if fitted is None:
            continue
        votes[dim["name"]] = fitted.votes
        details[dim["name"]] = {"method": fitted.method, "confusion": fitted.confusion}
    return votes, details


def _write_votes(campaign: Campaign, votes: dict[str, dict[int, Vote]], now: datetime) -> int:
    """Upsert the fitted rows, keep truth rows, drop rows the fit no longer supports."""
    written = upsert_votes(campaign.pk, votes, now)
    delete_unfitted(campaign.pk, now)
    _refresh_adjudicated_fits(campaign, votes)
    return written


def _refresh_adjudicated_fits(campaign: Campaign, votes: dict[str, dict[int, Vote]]) -> None:
    from labeling.models import Adjudication

    changed = []
    for adj in Adjudication.objects.filter(campaign=campaign):
        v = votes.get(adj.dimension, {}).get(adj.item_id)
        fitted = (
            None
            if v is None
            else {"value": v.value, "confidence": v.confidence, "method": v.method}
        )
        if fitted != adj.fitted:
            adj.fitted = fitted
            changed.append(adj)
    if changed:
        Adjudication.objects.bulk_update(changed, ["fitted"], batch_size=1000)


def consensus_refit(
    *, campaign_id: int, report: bool = True, owner: str = ""
) -> dict[str, Any] | None:
    """The full refit of one campaign; None when another refit of it is running (re-queued).
    `owner` is the Celery task's id (see refit_claim).

    Then, still holding the campaign's refit slot (so one writer at a time), the quality report
    is rebuilt. Returns a summary: rows written, the refit's seconds, each dimension's method.
    """
    import time

    now = timezone.now()
    campaign = Campaign.objects.select_related("rubric").filter(pk=campaign_id).first()
    if campaign is None:
        return None
    if not refit_claim(campaign_id, now, owner):
        QualityState.objects.filter(campaign_id=campaign_id).update(
            refit_scheduled=True, refit_requested_at=now
        )
        _enqueue_refit(campaign_id)
        return None
    state = QualityState.objects.filter(campaign_id=campaign_id)
    try:
        started = time.perf_counter()
        votes, details = fit_campaign(campaign)
        with transaction.atomic():
            written = _write_votes(campaign, votes, now)
        seconds = time.perf_counter() - started
        state.update(last_refit_at=timezone.now(), last_refit_s=seconds, last_error="")
        _after_refit(campaign_id)
        if report:
            from labeling.quality.report import quality_report_build

            state.update(report=quality_report_build(campaign, details), report_at=timezone.now())
    except Exception as exc:
        state.update(last_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        state.update(refit_started_at=None, refit_owner="")
    methods = {d: f["method"] for d, f in details.items()}
    return {"written": written, "seconds": seconds, "methods": methods}


def _after_refit(campaign_id: int) -> None:
    from celery import current_app

    current_app.send_task(RETRAIN_HOOK, args=[campaign_id])
    # Scores are rates over consensus labels: the refit made the summary stale.
    score_summary_request(campaign_id=campaign_id)
