#!/usr/bin/env python3
"""How much narrower can the PPI harm interval get than human-only with a classifier of
HateXplain? The ceiling behind scores_pipeline.py's `earlier_classifier` scenario.

A classifier trained on an earlier campaign's labels is independent of this campaign's, so its
PPI interval is valid and its width is about sqrt(1 - rho^2 * N / (N + n)) times human-only's
(rho: the correlation of its score with the label; n labeled, N unlabeled items). This bench
measures that ratio directly: the project's TF-IDF backend (classifiers.backends.sklearn_tfidf),
or with --backend transformer its fine-tuned all-MiniLM-L6-v2 (classifiers.backends.transformer;
the last 10% of the training posts calibrate its temperature, as a training run's calibration
split does), is fit on the first `earlier` posts of a shuffled HateXplain train split (the
truth: offensive or hate), predicts the rest, and for each model size (items) and harm rate,
repeatedly draws a model's items at that rate, labels `labeled` of them uniformly (labels =
truth, so annotator noise plays no part), and compares labeling.scores.stats.ppi.ppi_mean's
interval with the human-only CLT interval on the same labels.

Writes bench/results/scores_ppi_ceiling.json as {"earlier=E": {"auroc", "rho2", "items=N":
{"rate=R": width_ratio, "mean": ...}}} (keys "transformer earlier=E" for the transformer; the
other backend's entries in the file are kept).

Usage (from the repository root):
    .venv/bin/python bench/scores_ppi_ceiling.py [--earlier 2500 7000] [--items 500 1000 2000]
        [--labeled 120] [--reps 300] [--backend transformer]
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

RESULTS = ROOT / "bench" / "results" / "scores_ppi_ceiling.json"
RATES = (0.1, 0.25, 0.45)  # scores_pipeline.py's three models


def main() -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from classifiers.backends.base import LabeledTexts
    from classifiers.backends.sklearn_tfidf import TfidfLogreg
    from classifiers.backends.transformer import TransformerClassifier
    from labeling.scores.stats.ppi import ppi_mean

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--earlier", type=int, nargs="+", default=[2500, 7000])
    parser.add_argument("--items", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--labeled", type=int, default=120, help="labeled items per model")
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--backend", choices=["tfidf_logreg", "transformer"], default="tfidf_logreg"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    texts, labels = load_split("train")
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    harmful = np.array([labels[i] != 0 for i in order], dtype=bool)
    # The population never overlaps the largest training set.
    population = np.arange(max(args.earlier), len(texts))
    truth = harmful[population]
    bad, good = np.flatnonzero(truth), np.flatnonzero(~truth)
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    prefix = "" if args.backend == "tfidf_logreg" else f"{args.backend} "
    for earlier in args.earlier:
        started = time.perf_counter()
        y_train = [int(h) for h in harmful[:earlier]]
        backend: Any
        if args.backend == "transformer":
            backend = TransformerClassifier(["safe", "unsafe"], seed=args.seed)
            cut = earlier - earlier // 10
            backend.fit(
                LabeledTexts(texts[:cut], y_train[:cut]),
                LabeledTexts(texts[cut:earlier], y_train[cut:]),
            )
        else:
            backend = TfidfLogreg(["safe", "unsafe"], seed=args.seed)
            backend.fit(LabeledTexts(texts[:earlier], y_train))
        score = backend.predict_proba([texts[i] for i in population])[:, 1]
        block: dict[str, Any] = {
            "auroc": round(float(roc_auc_score(truth, score)), 4),
            "rho2": round(float(np.corrcoef(truth, score)[0, 1] ** 2), 4),
            "fit_predict_s": round(time.perf_counter() - started, 1),
        }
        print(f"{prefix}earlier={earlier}: AUROC {block['auroc']:.3f}, rho^2 {block['rho2']:.3f}")
        for items in args.items:
            ratios: dict[str, float] = {}
            for rate in RATES:
                ppi_w, human_w = [], []
                for _ in range(args.reps):
                    k = int(rng.binomial(items, rate))
                    idx = np.concatenate(
                        [
                            rng.choice(bad, k, replace=False),
                            rng.choice(good, items - k, replace=False),
                        ]
                    )
                    labeled = np.zeros(items, dtype=bool)
                    labeled[rng.choice(items, args.labeled, replace=False)] = True
                    y, f = truth[idx].astype(float), score[idx]
                    r = ppi_mean(y[labeled], f[labeled], f[~labeled])
                    assert r is not None
                    ppi_w.append(r.width)
                    human_w.append(r.human_width)
                ratios[f"rate={rate}"] = round(float(np.mean(ppi_w) / np.mean(human_w)), 4)
            ratios["mean"] = round(float(np.mean(list(ratios.values()))), 4)
            block[f"items={items}"] = ratios
            print(
                f"  items={items}, {args.labeled} labeled: PPI / human-only width "
                + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items())
            )
        results[f"{prefix}earlier={earlier}"] = block
    results[f"_meta{'' if not prefix else ' ' + args.backend}"] = {
        k: str(v) for k, v in vars(args).items()
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
