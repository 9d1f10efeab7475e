#!/usr/bin/env python3
"""Does the harm interval cover the truth when the classifier learned from the same labels?

Each repetition draws a population of HateXplain posts (train split; harmful = offensive or
hate, the dataset's labels as the truth), labels a uniform random subset, fits the project's
TF-IDF + logistic regression backend on the labeled posts (as a training run does), predicts
every post with it, and builds three 95% intervals for the harm rate:
  - human-only: the labeled posts' rate (the CLT interval PPI falls back to);
  - in-sample PPI: the full model's predictions on the labeled posts (what Assay served before
    cross-fitting: they are too good on the posts it was fit to);
  - cross-fitted PPI: out-of-fold predictions on the labeled posts from the project's
    classifiers.services.crossfit (K fold models of the same kind), the full model elsewhere.
All three use the project's labeling.scores.stats.ppi.ppi_mean. Labels are the truth here (no
annotator noise) and the labeled set is uniform, so only the in-sample effect is measured.

It prints coverage, mean width and bias per estimator and writes
bench/results/scores_crossfit.json as {estimator: {"coverage", "mean_width", "bias"}}.

Usage (from the repository root):
    .venv/bin/python bench/scores_crossfit.py [--reps 100] [--population 3000] [--labeled 300]
        [--C 10] [--out bench/results/scores_crossfit.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.classifier_hatexplain import load_split  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scores_crossfit.json"


def one_rep(
    texts: list[str], harmful: list[int], args: argparse.Namespace, rep: int
) -> dict[str, tuple[float, float, float]]:
    import numpy as np

    from classifiers.backends import LabeledTexts, make_backend
    from classifiers.services.crossfit import out_of_fold_proba
    from classifiers.training_set import TrainingSet
    from labeling.scores.stats.ppi import ppi_mean

    rng = np.random.default_rng(args.seed + rep)
    population = rng.choice(len(texts), size=args.population, replace=False)
    labeled = np.zeros(args.population, dtype=bool)
    labeled[rng.choice(args.population, size=args.labeled, replace=False)] = True
    pop_texts = [texts[i] for i in population]
    y = np.array([harmful[i] for i in population], dtype=float)
    lab_idx = np.flatnonzero(labeled)
    lab_texts = [pop_texts[i] for i in lab_idx]
    lab_y = [int(y[i]) for i in lab_idx]
    classes = ["safe", "unsafe"]
    params: dict[str, Any] = {} if args.C is None else {"C": args.C}
    full = make_backend("tfidf_logreg", classes, seed=rep, params=params)
    full.fit(LabeledTexts(lab_texts, lab_y, [1.0] * len(lab_y)), None)
    p_all = full.predict_proba(pop_texts)[:, 1]
    ts = TrainingSet(
        classes=classes,
        item_ids={"train": list(range(len(lab_idx))), "calibration": [], "eval": []},
        texts={"train": lab_texts, "calibration": [], "eval": []},
        labels={"train": lab_y, "calibration": [], "eval": []},
        weights={"train": [1.0] * len(lab_y), "calibration": [], "eval": []},
    )
    _, oof = out_of_fold_proba("tfidf_logreg", ts, folds=args.folds, seed=rep, params=params)
    unl = ~labeled
    in_sample = ppi_mean(y[labeled], p_all[labeled], p_all[unl])
    crossfit = ppi_mean(y[labeled], oof[:, 1], p_all[unl])
    assert in_sample is not None and crossfit is not None
    return {
        "human_only": (in_sample.human_estimate, in_sample.human_low, in_sample.human_high),
        "ppi_in_sample": (in_sample.estimate, in_sample.low, in_sample.high),
        "ppi_crossfit": (crossfit.estimate, crossfit.low, crossfit.high),
        "_truth": (float(y.mean()), 0.0, 0.0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--population", type=int, default=3000)
    ap.add_argument("--labeled", type=int, default=300)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument(
        "--C", type=float, default=None, help="inverse regularization (default: the backend's)"
    )
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()

    # The project's modules need Django's app registry (no database is used).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    import django

    django.setup()
    texts, labels = load_split("train")
    harmful = [0 if v == 0 else 1 for v in labels]
    started = time.perf_counter()
    found: dict[str, list[tuple[float, float, float, float]]] = {}
    for rep in range(args.reps):
        out = one_rep(texts, harmful, args, rep)
        truth = out.pop("_truth")[0]
        for name, (est, low, high) in out.items():
            found.setdefault(name, []).append((est, low, high, truth))
        if (rep + 1) % 10 == 0:
            print(f"  {rep + 1}/{args.reps} repetitions, {time.perf_counter() - started:.0f} s")
    result: dict[str, Any] = {}
    print(f"\n{'estimator':<16} {'coverage':>9} {'mean width':>11} {'bias':>8}")
    for name, rows in found.items():
        coverage = sum(low <= t <= high for _, low, high, t in rows) / len(rows)
        width = sum(high - low for _, low, high, _ in rows) / len(rows)
        bias = sum(est - t for est, _, _, t in rows) / len(rows)
        result[name] = {"coverage": coverage, "mean_width": width, "bias": bias}
        print(f"{name:<16} {coverage:>9.3f} {width:>11.4f} {bias:>+8.4f}")
    result["_setup"] = {
        "data": "HateXplain train split (harmful = offensive or hate)",
        "reps": args.reps,
        "population": args.population,
        "labeled": args.labeled,
        "folds": args.folds,
        "backend": "tfidf_logreg",
        "C": args.C if args.C is not None else "backend default",
        "seconds": round(time.perf_counter() - started, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
