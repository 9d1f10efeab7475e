#!/usr/bin/env python3
"""Span agreement on real raters: Toxic Spans' raw per-rater spans replayed through Assay.

A sample of posts (comments.csv) with at least two raters (annotations.csv, spans.csv) becomes a
campaign whose rubric has one optional spans dimension with the five span types. Each post's
k-th rater answer is submitted by annotator slot k through the queue's own services (`next`
leases items in the campaign's order; the slot submits its answer where the post has one and
skips the rest); an answer without spans is the answer "no toxic span". Then the full consensus
refit runs and writes the quality report.

Checked against a direct computation written here, on the same answers: the consensus is a
>50% character vote per span type (a character is in a type's span when more than half of the
post's raters gave it that type); alpha is `krippendorff.alpha` (nominal) on the slots x
characters matrix, each cell the type that rater gave the character ("" for none; where one
rater gave a character two types, the alphabetically first, as Assay's documented rule).
Spans reaching past a post's text are clipped to it (the rubric refuses them otherwise).

Information only: the char F1 of this consensus against the official gold of the posts that are
in tsd_train/tsd_trial (the official gold filtered raters in ways the files do not record).

Writes the agreement keys of bench/results/span_tagger.json (the tagger keys come from
bench/span_tagger.py). The project samples MAX_SPAN_UNITS (400) posts for its span alpha; the
default --posts 400 keeps every post in it.

Usage (from the repository root):
    .venv/bin/python bench/span_agreement.py [--posts 400] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._django import setup_django  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "span_tagger.json"
DATA = ROOT.parent / "shared" / "datasets" / "toxic_spans"
DIMENSION = "toxic_spans"
TYPES = ["Identity based Attack", "Insult", "Other toxicity", "Profane/Obscene", "Threat"]
RUBRIC = {
    "dimensions": [
        {
            "name": DIMENSION,
            "type": "spans",
            "label": "Toxic spans",
            "required": False,
            "labels": [{"value": t, "label": t} for t in TYPES],
        }
    ]
}

Post = tuple[str, list[list[dict[str, Any]]]]  # text, one span list per rater


def read_posts(n_posts: int, seed: int) -> dict[str, Post]:
    csv.field_size_limit(10_000_000)
    with (DATA / "comments.csv").open(newline="", encoding="utf-8") as f:
        texts = {r["comment_id"]: r["comment_text"] for r in csv.DictReader(f)}
    answers: dict[str, list[str]] = defaultdict(list)  # post -> annotation ids
    with (DATA / "annotations.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["comment_id"] in texts:
                answers[r["comment_id"]].append(r["annotation"])
    spans: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with (DATA / "spans.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            spans[r["annotation"]].append(
                {"start": int(r["start"]), "end": int(r["end"]), "label": r["type"]}
            )
    eligible = sorted(p for p, a in answers.items() if len(a) >= 2)
    chosen = sorted(random.Random(seed).sample(eligible, min(n_posts, len(eligible))))
    out: dict[str, Post] = {}
    for post in chosen:
        text = texts[post]
        per_rater = []
        for annotation in sorted(answers[post], key=int):
            clipped = [
                {"start": s["start"], "end": min(s["end"], len(text)), "label": s["label"]}
                for s in spans.get(annotation, [])
                if s["start"] < min(s["end"], len(text)) and s["label"] in TYPES
            ]
            per_rater.append(sorted(clipped, key=lambda s: (s["start"], s["end"], s["label"])))
        out[post] = (text, per_rater)
    return out


def direct_vote(text: str, per_rater: list[list[dict[str, Any]]]) -> set[tuple[int, int, str]]:
    """>50% of the post's raters gave the character this type; runs of such characters."""
    n = len(per_rater)
    out: set[tuple[int, int, str]] = set()
    for label in TYPES:
        count = [0] * len(text)
        for answer in per_rater:
            marked = [False] * len(text)
            for s in answer:
                if s["label"] == label:
                    for c in range(s["start"], s["end"]):
                        marked[c] = True
            for c, m in enumerate(marked):
                count[c] += m
        start = None
        for c in range(len(text) + 1):
            inside = c < len(text) and count[c] * 2 > n
            if inside and start is None:
                start = c
            elif not inside and start is not None:
                out.add((start, c, label))
                start = None
    return out


def direct_alpha(posts: dict[str, Post], binary: bool = False) -> float:
    """krippendorff.alpha on slots x characters; 0 = no span, 1.. = the type's rank (with
    `binary`, 1 = any type: toxic or not, as the task's gold)."""
    import krippendorff
    import numpy as np

    slots = max(len(r) for _, r in posts.values())
    columns = []
    for text, per_rater in posts.values():
        block = np.full((slots, len(text)), np.nan)
        for k, answer in enumerate(per_rater):
            row = np.zeros(len(text))
            # The alphabetically first type wins where one rater gave two: paint the others
            # first and it last.
            for s in sorted(answer, key=lambda s: s["label"], reverse=True):
                row[s["start"] : s["end"]] = 1 if binary else TYPES.index(s["label"]) + 1
            block[k] = row
        columns.append(block)
    matrix = np.concatenate(columns, axis=1)
    return float(
        krippendorff.alpha(
            reliability_data=matrix,
            level_of_measurement="nominal",
            value_domain=[0, 1] if binary else list(range(len(TYPES) + 1)),
        )
    )


def build_campaign(posts: dict[str, Post]) -> Any:
    from django.contrib.auth import get_user_model

    from generation.models import CandidateModel
    from labeling.campaigns.services import (
        NewItem,
        campaign_create,
        campaign_update,
        items_create,
        membership_set,
        prompts_import,
    )
    from labeling.models import Prompt

    users = get_user_model().objects
    owner, _ = users.get_or_create(username="toxic-spans-admin")
    slots = max(len(r) for _, r in posts.values())
    campaign = campaign_create(
        user=owner,
        name="Toxic Spans raters",
        rubric=RUBRIC,
        overlap=slots,
        skip_limit_per_hour=10_000,
    )
    lines = [json.dumps({"id": p, "text": f"Comment {p}"}) for p in posts]
    prompts_import(campaign=campaign, data="\n".join(lines), fmt="jsonl")
    prompt_ids = dict(Prompt.objects.filter(campaign=campaign).values_list("external_id", "id"))
    model, _ = CandidateModel.objects.get_or_create(
        name="civil-comments", defaults={"backend": CandidateModel.Backend.IMPORTED}
    )
    new = [NewItem(prompt_id=prompt_ids[p], sample_index=0, text=t) for p, (t, _) in posts.items()]
    items_create(campaign=campaign, model_id=model.pk, params_hash="toxic-spans", new_items=new)
    campaign = campaign_update(campaign=campaign, data={"status": "labeling"})
    for k in range(slots):
        user, _ = users.get_or_create(username=f"toxic-spans-slot-{k}")
        membership_set(campaign=campaign, user=user, role="annotator")
    return campaign


def replay(campaign: Any, posts: dict[str, Post]) -> dict[str, int]:
    """Slot k takes `next` until the queue is empty: submits a post's k-th answer, or skips."""
    from django.contrib.auth import get_user_model

    from labeling.models import Item
    from labeling.queue.services import annotation_submit, assignment_next, assignment_skip

    post_of = dict(Item.objects.filter(campaign=campaign).values_list("id", "prompt__external_id"))
    counts = {"submitted": 0, "skipped": 0}
    slots = max(len(r) for _, r in posts.values())
    for k in range(slots):
        user = get_user_model().objects.get(username=f"toxic-spans-slot-{k}")
        while (lease := assignment_next(campaign=campaign, user=user)) is not None:
            _, per_rater = posts[post_of[lease.item_id]]
            if k >= len(per_rater):
                assignment_skip(assignment_id=lease.pk, user=user)
                counts["skipped"] += 1
                continue
            values = {DIMENSION: per_rater[k]} if per_rater[k] else {}
            annotation_submit(assignment_id=lease.pk, user=user, values=values)
            counts["submitted"] += 1
    return counts


def project_results(campaign: Any) -> tuple[dict[str, set[tuple[int, int, str]]], dict[str, Any]]:
    from labeling.models import Consensus, QualityState
    from labeling.quality.consensus import consensus_refit

    summary = consensus_refit(campaign_id=campaign.pk)
    assert summary is not None, "another refit held the campaign"
    consensus = {
        post: {(s["start"], s["end"], s["label"]) for s in value}
        for post, value in Consensus.objects.filter(
            campaign=campaign, dimension=DIMENSION
        ).values_list("item__prompt__external_id", "value")
    }
    report = QualityState.objects.get(campaign=campaign).report["dimensions"][DIMENSION]
    return consensus, report


def official_gold() -> dict[str, set[int]]:
    """text -> gold offsets of tsd_train and tsd_trial (matched by text)."""
    csv.field_size_limit(10_000_000)
    gold: dict[str, set[int]] = {}
    for name in ("tsd_train.csv", "tsd_trial.csv"):
        with (DATA / name).open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                gold[r["text"]] = set(json.loads(r["spans"]))
    return gold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="assay-span-agreement-")
    load_before = os.getloadavg()
    try:
        setup_django(ASSAY_VAR_DIR=var_dir, CELERY_TASK_ALWAYS_EAGER="false")
        from classifiers.spans import char_f1

        posts = read_posts(args.posts, args.seed)
        t0 = time.perf_counter()
        campaign = build_campaign(posts)
        counts = replay(campaign, posts)
        replay_s = time.perf_counter() - t0
        consensus, report = project_results(campaign)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    direct = {p: direct_vote(t, r) for p, (t, r) in posts.items()}
    matches = sum(consensus.get(p, set()) == d for p, d in direct.items())
    mismatched = [p for p, d in direct.items() if consensus.get(p, set()) != d]
    alpha_direct = direct_alpha(posts)
    gold = official_gold()
    f1s = [
        char_f1({c for a, b, _ in direct[p] for c in range(a, b)}, gold[t])
        for p, (t, _) in posts.items()
        if t in gold
    ]
    out: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    out.update(
        {
            "consensus_matches_direct_share": matches / len(posts),
            "alpha_project": report["alpha"],
            "alpha_direct": alpha_direct,
            "agreement": {
                "posts": len(posts),
                "answers": sum(len(r) for _, r in posts.values()),
                "raters_per_post_max": max(len(r) for _, r in posts.values()),
                "alpha_units_project": report["n_units"],
                "alpha_ci95_project": report["ci95"],
                "alpha_level": report["level"],
                "alpha_abs_difference": abs(report["alpha"] - alpha_direct),
                "alpha_direct_toxic_or_not": direct_alpha(posts, binary=True),
                "mismatched_posts": mismatched[:20],
                "consensus_vs_official_gold_char_f1": sum(f1s) / len(f1s) if f1s else None,
                "posts_with_official_gold": len(f1s),
                "replay_s": round(replay_s, 1),
                **counts,
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_1m_after": round(os.getloadavg()[0], 2),
            },
        }
    )
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    a = out["agreement"]
    print(
        f"{len(posts)} posts, {a['answers']} rater answers ({a['submitted']} submitted, "
        f"{a['skipped']} skips) replayed in {replay_s:.1f} s"
    )
    print(
        f"consensus = direct >50% character vote on {matches}/{len(posts)} posts "
        f"({out['consensus_matches_direct_share']:.4f})"
    )
    print(
        f"alpha (characters, nominal): Assay {report['alpha']:.6f}  direct {alpha_direct:.6f}  "
        f"|diff| {a['alpha_abs_difference']:.2e}"
    )
    print(
        f"consensus vs official gold (information only): char F1 "
        f"{a['consensus_vs_official_gold_char_f1']} on {len(f1s)} posts"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
