#!/usr/bin/env python3
"""Active learning on HateXplain: random vs uncertainty ordering, macro-F1 against labels.

Simulates labeling HateXplain's train split in batches of 200 with the baseline backend's model
(TF-IDF word + char n-grams, logistic regression) and reports macro-F1 on the val split after
each batch, three-class (default) or binary (--task binary: normal vs the rest, like Assay's
harm target; written to active_learning_binary.*):
  - random: batches in a fixed random order;
  - uncertainty: what Assay's queue does under queue_strategy="uncertainty": priorities from
    classifiers.active_learning (margin uncertainty with the class balancer), 20% of each batch
    kept random (campaign.random_share default);
  - margin_only (with --strategies): the same priorities with no random share.
Every strategy starts from the same random 200 labels. The TF-IDF vocabulary is fitted once on
the pool's texts (no labels), so each round only refits the logistic regression: the model is
the baseline's, minus re-fitting the vocabulary per round.

Target: uncertainty reaches random's final macro-F1 with at most 60% of random's labels.
Writes bench/results/active_learning.json and bench/results/active_learning.png.

Usage (from the repository root):
    .venv/bin/python bench/active_learning.py [--budget N] [--batch 200] [--seeds 1,2]
        [--strategies random,uncertainty,margin_only]
        [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.classifier_hatexplain import CLASSES, limited, load_split  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "active_learning.json"
PLOT = ROOT / "bench" / "results" / "active_learning.png"
STRATEGIES = {"random": None, "uncertainty": 0.2, "margin_only": 0.0}


def features(pool: list[str], val: list[str]) -> tuple[Any, Any]:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=150_000)
    char = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=150_000
    )
    x_pool = hstack([word.fit_transform(pool), char.fit_transform(pool)]).tocsr()
    x_val = hstack([word.transform(val), char.transform(val)]).tocsr()
    return x_pool, x_val


def fit_predict(clf: Any, x: Any, y: Any, x_out: list[Any], n_classes: int) -> list[Any]:
    import numpy as np

    clf.fit(x, y)
    outs = []
    for xo in x_out:
        full = np.zeros((xo.shape[0], n_classes))
        full[:, clf.classes_] = clf.predict_proba(xo)
        outs.append(full)
    return outs


def simulate(
    strategy: str, data: dict[str, Any], args: argparse.Namespace, seed: int
) -> list[dict[str, float]]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from classifiers.active_learning import priorities, select_batch

    rng = np.random.default_rng(seed)
    # One model per run, refitted from the last round's weights (warm start): each round adds
    # 200 labels, so the optimum moves little and a full pool's 77 rounds stay affordable.
    clf = LogisticRegression(
        C=args.C, class_weight="balanced", max_iter=2000, random_state=seed, warm_start=True
    )
    y_pool, y_val = data["y_pool"], data["y_val"]
    budget = args.budget or len(y_pool)
    n = len(y_pool)
    order = np.random.default_rng(seed).permutation(n)  # the shared start and random's order
    labeled = np.zeros(n, dtype=bool)
    labeled[order[: args.batch]] = True
    curve: list[dict[str, float]] = []
    while True:
        idx = np.flatnonzero(labeled)
        unlabeled = np.flatnonzero(~labeled)
        need_pool = strategy != "random" and len(unlabeled) and labeled.sum() < budget
        outs = fit_predict(
            clf,
            data["x_pool"][idx],
            y_pool[idx],
            [data["x_val"]] + ([data["x_pool"][unlabeled]] if need_pool else []),
            data["n_classes"],
        )
        f1 = f1_score(y_val, outs[0].argmax(1), average="macro")
        curve.append({"labels": int(labeled.sum()), "macro_f1": float(f1)})
        if labeled.sum() >= budget or not len(unlabeled):
            return curve
        if strategy == "random":
            nxt = [i for i in order if not labeled[i]][: args.batch]
        else:
            counts = np.bincount(y_pool[idx], minlength=data["n_classes"]).tolist()
            prio = priorities(outs[1], counts)
            pick = select_batch(prio, args.batch, STRATEGIES[strategy] or 0.0, rng)
            nxt = unlabeled[pick].tolist()
        labeled[nxt] = True


def labels_to_reach(curve: list[dict[str, float]], target: float) -> int | None:
    for point in curve:
        if point["macro_f1"] >= target:
            return int(point["labels"])
    return None


def mean_curves(runs: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    import numpy as np

    length = min(len(r) for r in runs)
    return [
        {
            "labels": runs[0][i]["labels"],
            "macro_f1": float(np.mean([r[i]["macro_f1"] for r in runs])),
        }
        for i in range(length)
    ]


def plot(curves: dict[str, list[dict[str, float]]], target: float, path: Path, task: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for name, curve in curves.items():
        ax.plot([p["labels"] for p in curve], [p["macro_f1"] for p in curve], label=name)
    ax.axhline(target, color="grey", linestyle=":", label="random's final macro-F1")
    ax.set_xlabel("labels (batches of 200)")
    what = "3 classes" if task == "three_class" else "normal vs toxic"
    ax.set_ylabel(f"macro-F1 on HateXplain val ({what})")
    ax.set_title("Active learning: TF-IDF + logistic regression")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=int,
        default=None,
        help="stop at this many labels (default: the whole pool)",
    )
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--strategies", default="random,uncertainty")
    parser.add_argument("--limit", type=int, default=None, help="pool items (val: a quarter)")
    parser.add_argument(
        "--task",
        choices=["three_class", "binary"],
        default="three_class",
        help="binary: normal vs offensive-or-hate (Assay's harm target is binary)",
    )
    parser.add_argument("--C", type=float, default=4.0, help="logistic regression's C")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.out is None:
        args.out = (
            RESULTS
            if args.task == "three_class"
            else RESULTS.with_name("active_learning_binary.json")
        )
    pool, y_pool = limited(*load_split("train"), args.limit)
    val, y_val = limited(*load_split("val"), args.limit // 4 if args.limit else None)
    if args.task == "binary":
        y_pool, y_val = [min(y, 1) for y in y_pool], [min(y, 1) for y in y_val]
    started = time.perf_counter()
    x_pool, x_val = features(pool, val)
    data = {
        "x_pool": x_pool,
        "x_val": x_val,
        "y_pool": np.array(y_pool),
        "y_val": np.array(y_val),
        "n_classes": 2 if args.task == "binary" else len(CLASSES),
    }
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.strategies.split(",")
    if "random" not in names or "uncertainty" not in names or not set(names) <= set(STRATEGIES):
        parser.error("strategies: random, uncertainty and optionally margin_only")
    runs: dict[str, list[list[dict[str, float]]]] = {s: [] for s in names}
    for seed in seeds:
        for strategy in names:
            runs[strategy].append(simulate(strategy, data, args, seed))
            print(
                f"seed {seed} {strategy}: final macro-F1 {runs[strategy][-1][-1]['macro_f1']:.3f}",
                flush=True,
            )
    curves = {s: mean_curves(r) for s, r in runs.items()}
    target = curves["random"][-1]["macro_f1"]
    final_labels = curves["random"][-1]["labels"]
    reach = {s: labels_to_reach(c, target) for s, c in curves.items()}
    share = {s: (None if r is None else round(r / final_labels, 3)) for s, r in reach.items()}
    print(f"{'labels':>7}" + "".join(f"{s:>14}" for s in curves))
    for i, point in enumerate(curves["random"]):
        if i % 3 == 0 or i == len(curves["random"]) - 1:
            print(
                f"{int(point['labels']):>7}"
                + "".join(f"{curves[s][i]['macro_f1']:>14.3f}" for s in curves)
            )
    print(
        f"random's final macro-F1 {target:.3f} at {final_labels} labels; reached by "
        + ", ".join(f"{s} at {reach[s]} ({share[s]})" for s in curves)
        + " -- target: uncertainty at <= 0.6"
    )
    result = {
        "pool": len(pool),
        "val": len(val),
        "batch": args.batch,
        "budget": args.budget or len(pool),
        "seeds": seeds,
        "C": args.C,
        "random_final_macro_f1": target,
        "labels_to_reach_random_final": reach,
        "share_of_random_labels": share,
        "target_met": share["uncertainty"] is not None and share["uncertainty"] <= 0.6,
        "curves": curves,
        "per_seed": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(curves, target, args.out.with_suffix(".png"), args.task)


if __name__ == "__main__":
    main()
