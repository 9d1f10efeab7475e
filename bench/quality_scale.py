#!/usr/bin/env python3
"""The consensus refit at scale: 100,000 synthetic annotations with known truth.

Items have a hidden true value of a 3-way bias dimension (none 60%, subtle 25%, explicit 15%);
30 synthetic annotators with known confusion matrices label them, 3 distinct annotators per item:
10 careful (90% right), 10 average (70% right, mistakes to a neighbouring value), 6 spammers
(uniformly random) and 4 lazy ones (answer "none" 85% of the time). The rows are written straight
into the database (this benchmark times the refit, not the submit path), then the campaign's
full refit runs with majority vote and with Dawid-Skene. It reports each one's accuracy against
the truth and the refit time (one query to read, fit, bulk upsert of the consensus rows), and
writes bench/results/quality_scale.json.

Target: Dawid-Skene is more accurate than majority vote when annotators differ in quality, and a
refit of 100,000 annotations takes under 10 s.

Usage (from the repository root):
    .venv/bin/python bench/quality_scale.py [--annotations 100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._django import setup_django  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "quality_scale.json"
VALUES = ("none", "subtle", "explicit")
PRIOR = (0.60, 0.25, 0.15)
PER_ITEM = 3
TARGET_S = 10.0
RUBRIC: dict[str, Any] = {
    "dimensions": [
        {
            "name": "bias",
            "type": "choice",
            "label": "Does the output show social bias?",
            "required": True,
            "options": [{"value": v, "label": v.title()} for v in VALUES],
            "positive": ["subtle", "explicit"],
        }
    ]
}


def confusion_matrices() -> list[tuple[str, list[list[float]]]]:
    """(kind, rows: true value -> probabilities of each given value) for the 30 annotators."""
    careful = [[0.9 if i == j else 0.05 for j in range(3)] for i in range(3)]
    average = [[0.7, 0.3, 0.0], [0.15, 0.7, 0.15], [0.0, 0.3, 0.7]]
    spammer = [[1 / 3] * 3 for _ in range(3)]
    lazy = [[0.85, 0.1, 0.05] for _ in range(3)]
    return (
        [("careful", careful)] * 10
        + [("average", average)] * 10
        + [("spammer", spammer)] * 6
        + [("lazy", lazy)] * 4
    )


def simulate(n_items: int, seed: int) -> tuple[Any, Any, Any]:
    """(truth per item, annotator per label, given value per label) as numpy arrays."""
    import numpy as np

    rng = np.random.default_rng(seed)
    matrices = np.array([m for _, m in confusion_matrices()])
    truth = rng.choice(3, size=n_items, p=PRIOR)
    workers = np.array([rng.choice(len(matrices), PER_ITEM, replace=False) for _ in range(n_items)])
    workers = workers.reshape(-1)
    item_truth = np.repeat(truth, PER_ITEM)
    cumulative = matrices[workers, item_truth].cumsum(axis=1)
    given = (rng.random(len(workers))[:, None] > cumulative).sum(axis=1)
    return truth, workers, np.minimum(given, 2)


def seed_campaign(truth: Any, workers: Any, given: Any) -> tuple[Any, list[int]]:
    """One campaign with the items, annotators, submitted assignments and annotations."""
    from django.contrib.auth import get_user_model

    from labeling.campaigns.services import campaign_create, campaign_update, membership_set

    users = get_user_model().objects
    owner = users.create(username="scale-admin")
    campaign = campaign_create(user=owner, name="scale", rubric=RUBRIC, overlap=PER_ITEM)
    campaign = campaign_update(campaign=campaign, data={"status": "labeling"})
    people = [users.create(username=f"scale-{i}") for i in range(len(confusion_matrices()))]
    for person in people:
        membership_set(campaign=campaign, user=person, role="annotator")
    item_ids = _seed_items(campaign, len(truth))
    _seed_labels(campaign, item_ids, [people[int(w)].pk for w in workers], given)
    return campaign, item_ids


def _seed_items(campaign: Any, n: int) -> list[int]:
    from generation.models import CandidateModel
    from labeling.models import Item, Prompt

    model = CandidateModel.objects.create(name="scale-model", backend="imported")
    prompts = Prompt.objects.bulk_create(
        [Prompt(campaign=campaign, text=f"prompt {i}", text_sha256=f"{i:064d}") for i in range(n)],
        batch_size=2000,
    )
    rows = [
        Item(
            campaign=campaign,
            prompt=p,
            model=model,
            params_hash="scale",
            text=f"output {p.pk}",
            open_slots=0,
            n_submitted=PER_ITEM,
        )
        for p in prompts
    ]
    return [i.pk for i in Item.objects.bulk_create(rows, batch_size=2000)]


def _seed_labels(campaign: Any, item_ids: list[int], annotator_ids: list[int], given: Any) -> None:
    """Label k goes to item k // PER_ITEM: submitted assignments and their annotations."""
    from datetime import timedelta

    from django.utils import timezone

    from labeling.models import Annotation, Assignment

    now = timezone.now()
    assignments = Assignment.objects.bulk_create(
        [
            Assignment(
                campaign=campaign,
                item_id=item_ids[k // PER_ITEM],
                annotator_id=who,
                status=Assignment.Status.SUBMITTED,
                leased_at=now,
                expires_at=now + timedelta(minutes=30),
                finished_at=now,
            )
            for k, who in enumerate(annotator_ids)
        ],
        batch_size=2000,
    )
    Annotation.objects.bulk_create(
        [
            Annotation(
                item_id=a.item_id,
                annotator_id=a.annotator_id,
                assignment=a,
                values={"bias": VALUES[int(g)]},
                time_spent_ms=8000,
            )
            for a, g in zip(assignments, given, strict=True)
        ],
        batch_size=2000,
    )


def accuracy(campaign: Any, item_ids: list[int], truth: Any) -> float:
    from labeling.models import Consensus

    got = dict(
        Consensus.objects.filter(campaign=campaign, dimension="bias").values_list(
            "item_id", "value"
        )
    )
    hits = sum(got.get(i) == VALUES[int(t)] for i, t in zip(item_ids, truth, strict=True))
    return hits / len(item_ids)


def refit(campaign: Any, method: str) -> dict[str, Any]:
    from labeling.models import Campaign
    from labeling.quality.consensus import consensus_refit

    Campaign.objects.filter(pk=campaign.pk).update(consensus_method=method)
    started = time.perf_counter()
    summary = consensus_refit(campaign_id=campaign.pk, report=False)
    assert summary is not None
    return {"refit_s": time.perf_counter() - started, "method": summary["methods"]["bias"]}


def run(n_annotations: int, seed: int) -> dict[str, Any]:
    from labeling.quality.stats.fit import fit_choice

    n_items = n_annotations // PER_ITEM
    truth, workers, given = simulate(n_items, seed)
    campaign, item_ids = seed_campaign(truth, workers, given)
    # Warm the imports (pandas, crowd-kit) once, as a long-lived worker would have them.
    fit_choice([(0, 0, "none"), (0, 1, "none")], list(VALUES), "majority", {})
    out: dict[str, Any] = {"annotations": len(workers), "items": n_items, "annotators": 30}
    for method in ("majority", "wawa", "dawid_skene"):
        timing = refit(campaign, method)
        out[method] = {**timing, "accuracy": accuracy(campaign, item_ids, truth)}
    from labeling.quality.report import quality_report_build

    started = time.perf_counter()
    report = quality_report_build(campaign, {})
    out["report_s"] = time.perf_counter() - started
    out["alpha"] = report["dimensions"]["bias"]["alpha"]
    out["refit_s"] = out["dawid_skene"]["refit_s"]
    out["target_refit_s"] = TARGET_S
    out["ds_beats_majority"] = out["dawid_skene"]["accuracy"] > out["majority"]["accuracy"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="assay-quality-scale-")
    try:
        setup_django(ASSAY_VAR_DIR=var_dir, CELERY_TASK_ALWAYS_EAGER="false")
        from django.db import connection

        load_before = os.getloadavg()[0]
        result = run(args.annotations, args.seed)
        result["database"] = connection.vendor
        # Four people share this machine's 2 cores: the load says how contended a timing was.
        result["load_average_1m"] = {"before": load_before, "after": os.getloadavg()[0]}
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"{result['annotations']} annotations, {result['items']} items, 30 annotators")
    print(f"{'method':14}{'accuracy':>10}{'refit s':>10}")
    for method in ("majority", "wawa", "dawid_skene"):
        r = result[method]
        print(f"{method:14}{r['accuracy']:>10.4f}{r['refit_s']:>10.2f}")
    verdict = "PASS" if result["refit_s"] < TARGET_S and result["ds_beats_majority"] else "FAIL"
    print(f"target: DS > majority and refit < {TARGET_S:.0f} s: {verdict}")
    print(f"quality report (alpha {result['alpha']:.4f}, bootstrap): {result['report_s']:.2f} s")
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
