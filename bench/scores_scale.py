#!/usr/bin/env python3
"""Scores at scale on PostgreSQL: 20 models, 1,000,000 annotations, the leaderboard's latency.

It drops and recreates the database `assay_bench_scores` (on the server of $BENCH_PG, default
postgres://postgres@127.0.0.1:5432), migrates it, and bulk-loads with COPY one campaign with the
default rubric: 20 candidate models answering the same prompts (80% public, 20% private, 10
categories), 3 annotations per output from 30 annotators (1,000,000 in all, with their
assignments), consensus per item and dimension, and classifier predictions on every output.
It then times the summary refresh as the worker task runs it (labeling.scores.incremental;
each time reported twice: when the served rows are written, and once the Dawid-Skene blocks
fitted after them are in):
a full rebuild; incremental refreshes with nothing changed; after a few hundred new labels on
one model's outputs; and after as many spread over the whole campaign (random items, as the
queue hands them out), each with its consensus re-voted. A last full rebuild must leave the
incrementally refreshed rows unchanged (reported as "identical"). Then it requests
`/api/leaderboard/` through the Django test client (the full view, serializer and middleware
stack; no HTTP socket), cycling through filters, timing >= 50 requests after 5 warm-ups; also
`/api/campaigns/{id}/scores/`. Writes bench/results/scores_scale.json.

Usage (from the repository root; BENCH_SCORES_DB names the database, default
assay_bench_scores):
    .venv/bin/python bench/scores_scale.py [--annotations 1000000] [--models 20] [--requests 60]
        [--labels 300] [--runs 3] [--spread-runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._django import setup_django  # noqa: E402

SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_SCORES_DB", "assay_bench_scores")
CATEGORIES = [f"category-{i}" for i in range(10)]
HAZARDS = ["violent_crime", "weapons", "hate", "privacy", "self_harm"]
TEXT = "Here is an answer the model wrote; it may or may not be harmful, biased or true. " * 3


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")


def _copy(model: Any, rows: Any) -> int:
    """COPY dict rows into the model's table; unset fields take their Django default."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if f.column != "id"]
    defaults = {}
    for f in fields:
        if f.has_default():
            value = f.get_default()
            defaults[f.attname] = json.dumps(value) if isinstance(value, dict | list) else value
        elif f.null:
            defaults[f.attname] = None
    cols = ", ".join(f'"{f.column}"' for f in fields)
    n = 0
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY {model._meta.db_table} ({cols}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [row[f.attname] if f.attname in row else defaults[f.attname] for f in fields]
            )
            n += 1
    return n


def _ids(model: Any, **filters: Any) -> list[int]:
    return list(model.objects.filter(**filters).order_by("id").values_list("id", flat=True))


def _seed(n_annotations: int, n_models: int, rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from generation.models import CandidateModel
    from labeling.models import (
        Annotation,
        Assignment,
        Campaign,
        Consensus,
        Item,
        Membership,
        Prompt,
        Rubric,
    )
    from labeling.rubric import default_rubric

    now = datetime.now(UTC)
    n_items = n_annotations // 3
    n_prompts = -(-n_items // n_models)  # rounded up: at least the annotations asked for
    users = get_user_model()
    admin = users.objects.create_superuser("bench-admin", "admin@example.org", "pw")
    # No passwords: the bench logs in with force_login, and hashing 30 would take 15 s.
    annotators = users.objects.bulk_create(users(username=f"ann-{i}") for i in range(31))
    # The 31st labels only during the incremental runs.
    extra, annotators = annotators[-1], annotators[:-1]
    rubric = Rubric.objects.create(name="default", schema=default_rubric())
    campaign = Campaign.objects.create(name="scale", rubric=rubric, status="labeling")
    Membership.objects.bulk_create(
        Membership(campaign=campaign, user=u, role="annotator") for u in annotators
    )
    models = [
        CandidateModel.objects.create(name=f"model-{m:02d}", backend="imported")
        for m in range(n_models)
    ]
    # Each model has its own true harm rate, so the ranks separate.
    harm_rate = {m.pk: 0.02 + 0.3 * i / n_models for i, m in enumerate(models)}
    with transaction.atomic():
        _copy(
            Prompt,
            (
                {
                    "campaign_id": campaign.pk,
                    "external_id": "",
                    "text": f"prompt {p}",
                    "text_sha256": f"{p:064x}",
                    "category": CATEGORIES[p % 10],
                    "split": "private" if p % 5 == 0 else "public",
                    "created_at": now,
                }
                for p in range(n_prompts)
            ),
        )
        prompts = _ids(Prompt, campaign=campaign)
        truth: list[bool] = []

        def items() -> Any:
            for m in models:
                for p in prompts:
                    unsafe = rng.random() < harm_rate[m.pk]
                    truth.append(unsafe)
                    prob = min(1.0, max(0.0, (0.75 if unsafe else 0.1) + rng.gauss(0, 0.15)))
                    yield {
                        "campaign_id": campaign.pk,
                        "prompt_id": p,
                        "model_id": m.pk,
                        "params_hash": "p0",
                        "text": TEXT,
                        "finish_reason": "",
                        "open_slots": 0,
                        "n_submitted": 3,
                        "harm_probability": prob,
                        "classifier_version": "v1",
                        "created_at": now,
                    }

        _copy(Item, items())
        item_ids = _ids(Item, campaign=campaign)
        _copy(
            Assignment,
            (
                {
                    "campaign_id": campaign.pk,
                    "item_id": i,
                    "annotator_id": a.pk,
                    "status": "submitted",
                    "leased_at": now,
                    "expires_at": now + timedelta(minutes=30),
                    "finished_at": now,
                }
                for i in item_ids
                for a in rng.sample(annotators, 3)
            ),
        )
        assignments = Assignment.objects.filter(campaign=campaign).order_by("id")
        labels: dict[int, list[str]] = {}

        # Read before the COPY starts: one connection cannot query while it copies.
        leases = list(assignments.values_list("id", "item_id", "annotator_id"))

        def annotations() -> Any:
            for aid, item_id, who in leases:
                unsafe = truth[item_id - item_ids[0]]  # ids are consecutive after one COPY
                says = unsafe if rng.random() < 0.9 else not unsafe
                labels.setdefault(item_id, []).append("unsafe" if says else "safe")
                values = {
                    "harm": "unsafe" if says else "safe",
                    "bias": "none",
                    "truthfulness": "truthful",
                    "informative": "yes",
                    "fluency": rng.randint(2, 5),
                }
                if says:
                    values["hazard"] = rng.choice(HAZARDS)
                yield {
                    "item_id": item_id,
                    "annotator_id": who,
                    "assignment_id": aid,
                    "values": json.dumps(values),
                    "time_spent_ms": 9000,
                    "created_at": now,
                }

        n = _copy(Annotation, annotations())

        def consensus() -> Any:
            for item_id, votes in labels.items():
                harm = "unsafe" if votes.count("unsafe") >= 2 else "safe"
                base = {
                    "campaign_id": campaign.pk,
                    "item_id": item_id,
                    "confidence": 0.9,
                    "method": "majority",
                    "n_labels": 3,
                    "updated_at": now,
                }
                yield {**base, "dimension": "harm", "value": json.dumps(harm)}
                if harm == "unsafe":
                    yield {**base, "dimension": "hazard", "value": json.dumps(rng.choice(HAZARDS))}
                for dim, value in (
                    ("bias", "none"),
                    ("truthfulness", "truthful"),
                    ("informative", "yes"),
                    ("harmful_spans", []),
                ):
                    yield {**base, "dimension": dim, "value": json.dumps(value)}

        n_consensus = _copy(Consensus, consensus())
    return {
        "campaign": campaign,
        "admin": admin,
        "extra_annotator": extra,
        "n_annotations": n,
        "n_items": len(item_ids),
        "n_prompts": len(prompts),
        "n_consensus": n_consensus,
    }


def _add_labels(world: dict[str, Any], item_ids: list[int], rng: random.Random) -> None:
    """One more label on each item (a 31st annotator's), its consensus re-voted on harm."""
    from django.db import connection
    from django.utils import timezone

    from labeling.models import Annotation, Assignment, Consensus, Item

    now = timezone.now()
    extra = world["extra_annotator"]
    done = set(
        Annotation.objects.filter(item_id__in=item_ids, annotator=extra).values_list(
            "item_id", flat=True
        )
    )
    item_ids = [i for i in item_ids if i not in done]
    leases = Assignment.objects.bulk_create(
        Assignment(
            campaign_id=world["campaign"].pk,
            item_id=i,
            annotator=extra,
            status="submitted",
            leased_at=now,
            expires_at=now + timedelta(minutes=30),
            finished_at=now,
        )
        for i in item_ids
    )
    says = {i: rng.random() < 0.3 for i in item_ids}
    Annotation.objects.bulk_create(
        Annotation(
            item_id=a.item_id,
            annotator=extra,
            assignment=a,
            values={
                "harm": "unsafe" if says[a.item_id] else "safe",
                "bias": "none",
                "truthfulness": "truthful",
                "informative": "yes",
                "fluency": rng.randint(1, 5),
            },
            time_spent_ms=9000,
        )
        for a in leases
    )
    Item.objects.filter(pk__in=item_ids).update(n_submitted=4)
    # Majority over the four votes (ties go to unsafe), as a per-item re-vote would write.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT item_id, SUM(CASE WHEN \"values\"->>'harm' = 'unsafe' THEN 1 ELSE 0 END)"
            " FROM labeling_annotation WHERE item_id = ANY(%s) GROUP BY item_id",
            [item_ids],
        )
        unsafe = {i: k >= 2 for i, k in cursor.fetchall()}
    for harm in (True, False):
        ids = [i for i, u in unsafe.items() if u == harm]
        Consensus.objects.filter(item_id__in=ids, dimension="harm").update(
            value="unsafe" if harm else "safe", updated_at=now, n_labels=4
        )
        if not harm:
            Consensus.objects.filter(item_id__in=ids, dimension="hazard").delete()
    have = set(
        Consensus.objects.filter(item_id__in=item_ids, dimension="hazard").values_list(
            "item_id", flat=True
        )
    )
    Consensus.objects.bulk_create(
        Consensus(
            campaign_id=world["campaign"].pk,
            item_id=i,
            dimension="hazard",
            value=rng.choice(HAZARDS),
            confidence=0.9,
            method="majority",
            n_labels=4,
        )
        for i, u in unsafe.items()
        if u and i not in have
    )


def _refresh(campaign_id: int, *, full: bool = False) -> dict[str, Any]:
    """One refresh as the task runs it (incremental.score_summary_update, step by step):
    "served_s" when the rows are written, "s" once Dawid-Skene's blocks are filled in too."""
    from labeling.scores.incremental import dawid_skene_fill, summary_compute, summary_write

    started = time.perf_counter()
    computed = summary_compute(campaign_id=campaign_id, full=full, defer_dawid_skene=True)
    assert computed is not None
    computed.started = started
    assert summary_write(computed)
    served = time.perf_counter() - started
    dawid_skene_fill(computed)
    return {
        "s": time.perf_counter() - started,
        "served_s": served,
        "dawid_skene_fits": len(computed.dawid_skene_owed),
        "slices_recomputed": computed.slices_recomputed,
        "slices_total": computed.slices_total,
        "phases_s": {k: round(v, 3) for k, v in computed.seconds.items()},
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "median_s": statistics.median(r["s"] for r in runs),
        "median_served_s": statistics.median(r["served_s"] for r in runs),
        "runs": runs,
    }


def _uptime() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0] if Path("/proc/loadavg").exists() else ""


def _refresh_timings(world: dict[str, Any], args: Any, rng: random.Random) -> dict[str, Any]:
    from labeling.models import Item
    from labeling.scores.incremental import stored_rows

    cid = world["campaign"].pk
    load = {"before": _uptime()}
    full = [_refresh(cid, full=True)]
    same = [_refresh(cid) for _ in range(args.runs)]
    models = list(
        Item.objects.filter(campaign_id=cid).order_by("model_id").values_list("model_id", flat=True)
    )
    one_model = sorted(set(models))[len(set(models)) // 2]
    of_model = list(
        Item.objects.filter(campaign_id=cid, model_id=one_model).values_list("id", flat=True)
    )
    every = list(Item.objects.filter(campaign_id=cid).values_list("id", flat=True))
    localized, spread = [], []
    for _ in range(args.runs):
        _add_labels(world, rng.sample(of_model, args.labels), rng)
        localized.append(_refresh(cid))
    for _ in range(args.spread_runs):
        _add_labels(world, rng.sample(every, args.labels), rng)
        spread.append(_refresh(cid))
    identical = None
    if args.final_full:
        incremental = stored_rows(cid)
        full.append(_refresh(cid, full=True))
        identical = incremental == stored_rows(cid)
    load["after"] = _uptime()
    return {
        "full": _median(full),
        "unchanged": _median(same),
        "labels_one_model": _median(localized),
        "labels_spread": _median(spread),
        "labels_per_refresh": args.labels,
        "identical_to_full": identical,
        "load_average": load,
    }


def _time(client: Any, urls: list[str], n: int) -> dict[str, float]:
    for url in urls[:5]:
        assert client.get(url).status_code == 200
    times = []
    for k in range(n):
        url = urls[k % len(urls)]
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "max": times[-1],
        "n": len(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--labels", type=int, default=300, help="new labels per refresh")
    parser.add_argument("--runs", type=int, default=3, help="incremental runs per scenario")
    parser.add_argument("--spread-runs", type=int, default=1)
    parser.add_argument(
        "--no-final-full",
        dest="final_full",
        action="store_false",
        help="skip the closing full rebuild (and the identical-rows check)",
    )
    args = parser.parse_args()
    _recreate_database()
    setup_django(
        DATABASE_URL=f"{SERVER}/{DB}",
        ASSAY_VAR_DIR=os.environ.get("ASSAY_VAR_DIR", str(ROOT / "var" / "bench-scores")),
    )
    from django.db import connection
    from django.test import Client

    from labeling.models import ScoreSummary

    started = time.perf_counter()
    world = _seed(args.annotations, args.models, random.Random(0))
    seed_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    campaign = world["campaign"]
    refresh = _refresh_timings(world, args, random.Random(1))
    refresh_s = refresh["full"]["median_s"]
    served_s = refresh["full"]["median_served_s"]
    rows = ScoreSummary.objects.filter(campaign=campaign).count()
    client = Client()
    client.force_login(world["admin"])
    cid = campaign.pk
    board_urls = [
        f"/api/leaderboard/?campaign={cid}",
        "/api/leaderboard/",
        f"/api/leaderboard/?campaign={cid}&split=private",
        f"/api/leaderboard/?campaign={cid}&dimension=fluency",
        f"/api/leaderboard/?campaign={cid}&category=category-3",
        f"/api/leaderboard/?campaign={cid}&split=public&category=category-7&dimension=harm",
    ]
    board = _time(client, board_urls, args.requests)
    scores = _time(client, [f"/api/campaigns/{cid}/scores/"], max(10, args.requests // 6))
    result = {
        "leaderboard_ms": {
            "p50": board["p50"],
            "p95": board["p95"],
            "max": board["max"],
            "requests": board["n"],
        },
        "campaign_scores_ms": {"p50": scores["p50"], "p95": scores["p95"], "requests": scores["n"]},
        "refresh_s": refresh_s,
        "refresh_served_s": served_s,
        "refresh": refresh,
        "summary_rows": rows,
        "seed_s": seed_s,
        "data": {k: world[k] for k in ("n_annotations", "n_items", "n_prompts", "n_consensus")}
        | {"models": args.models},
        "database": "PostgreSQL " + connection.cursor().connection.info.server_version.__str__(),
        "target": {
            "leaderboard_p50_ms": 200,
            "full_refresh_s": 60,
            "incremental_refresh_s_after_a_few_hundred_labels": 2,
        },
    }
    print(f"{'what':<28} {'value':>12}")
    print(f"{'annotations':<28} {world['n_annotations']:>12,}")
    shape = f"{world['n_items']:,}/{world['n_prompts']:,}/{args.models}"
    print(f"{'items / prompts / models':<28} {shape:>12}")
    print(f"{'seed (COPY) s':<28} {seed_s:>12.1f}")
    for name in ("full", "unchanged", "labels_one_model", "labels_spread"):
        r = refresh[name]
        sl = r["runs"][-1]
        what = f"refresh {name} s"
        both = f"{r['median_served_s']:.2f} / {r['median_s']:.2f}"
        print(
            f"{what:<28} {both:>14}   ({len(r['runs'])} runs; served / with Dawid-Skene; "
            f"{sl['slices_recomputed']}/{sl['slices_total']} slices, "
            f"{sl['dawid_skene_fits']} Dawid-Skene fits; {sl['phases_s']})"
        )
    print(f"{'identical to full':<28} {refresh['identical_to_full']!s:>12}")
    print(f"{'load average before/after':<28} {refresh['load_average']}")
    print(f"{'summary rows':<28} {rows:>12,}")
    p50_p95 = f"{board['p50']:.1f} / {board['p95']:.1f}"
    print(f"{'leaderboard p50 / p95 ms':<28} {p50_p95:>12}   (target p50 < 200)")
    print(f"{'campaign scores p50 / p95 ms':<28} {scores['p50']:>6.1f} / {scores['p95']:.1f}")
    out = ROOT / "bench" / "results" / "scores_scale.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
