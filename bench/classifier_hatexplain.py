#!/usr/bin/env python3
"""Harm classifier backends on HateXplain: train on its train split, report on its val split.

Three classes (normal, offensive, hate) and binary (normal vs the rest) for the scikit-learn
baseline (TF-IDF word + char n-grams, logistic regression) and the fine-tuned MiniLM encoder,
through the same backend classes the Celery training task uses. 10% of the train split
(stratified, seeded) is held out as the calibration slice (the transformer picks its best epoch
and fits its temperature there); the val split is only ever predicted.

The binary figures come from the three-class model (p(offensive) + p(hate)), so one fine-tuning
serves both; the baseline also trains a separate binary model, reported as "binary_separate".

Writes bench/results/classifier_hatexplain.json (merged: a run of one backend keeps the other's
figures) as {backend: {"three_class"|"binary": {"accuracy", "macro_f1", "auroc", ...},
"train_s", "predict_per_s", ...}}.

Usage (from the repository root):
    .venv/bin/python bench/classifier_hatexplain.py [--backends tfidf_logreg,minilm] [--limit N]
        [--epochs N] [--max-length N] [--batch-size N] [--lr X] [--threads 2]
    Without them, the transformer backend's own defaults (DEFAULTS, what the app trains).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "datasets" / "hatexplain"
RESULTS = ROOT / "bench" / "results" / "classifier_hatexplain.json"
CLASSES = ["normal", "offensive", "hate"]
# MBIB's category column: 0 normal, 1 hatespeech, 2 offensive (3 = no majority, outside splits).
CATEGORY_TO_CLASS = {0: 0, 2: 1, 1: 2}
SEED = 13


def load_split(name: str, data_dir: Path = DATA) -> tuple[list[str], list[int]]:
    import csv

    ids = json.loads((data_dir / "post_id_divisions.json").read_text())[name]
    rows: dict[str, tuple[str, int]] = {}
    with (data_dir / "mbib_092-HateXplain.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            category = int(row["category"])
            if category in CATEGORY_TO_CLASS:
                rows[row[""]] = (row["text"].strip(), CATEGORY_TO_CLASS[category])
    picked = [rows[i] for i in ids if i in rows]
    return [t for t, _ in picked], [y for _, y in picked]


def stratified_holdout(labels: list[int], share: float, seed: int) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import train_test_split

    idx = list(range(len(labels)))
    keep, held = train_test_split(idx, test_size=share, stratify=labels, random_state=seed)
    return sorted(keep), sorted(held)


def limited(texts: list[str], labels: list[int], limit: int | None) -> tuple[list[str], list[int]]:
    if not limit or limit >= len(texts):
        return texts, labels
    keep, _ = stratified_holdout(labels, 1 - limit / len(texts), SEED)
    return [texts[i] for i in keep], [labels[i] for i in keep]


def binary_of(labels: list[int]) -> list[int]:
    return [0 if y == 0 else 1 for y in labels]


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("accuracy", "macro_f1", "auroc", "auprc", "ece", "confusion_matrix", "n")
    return {k: metrics[k] for k in keys}


def run_backend(name: str, args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from classifiers.backends import LabeledTexts, make_backend
    from classifiers.metrics import classification_metrics

    params: dict[str, Any] = {}
    backend_name = "tfidf_logreg" if name == "tfidf_logreg" else "transformer"
    if backend_name == "transformer":
        # The backend's own defaults (the app's), overridden only where a flag was given.
        given = {
            "epochs": args.epochs,
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "class_weight": args.class_weight,
            "freeze_embeddings": args.freeze_embeddings,
        }
        params = {k: v for k, v in given.items() if v is not None}
        if params.get("class_weight") == "none":
            params["class_weight"] = None
        if args.model_path:
            params["model_path"] = args.model_path
    backend = make_backend(backend_name, CLASSES, seed=SEED, params=params)
    train = LabeledTexts(data["train_texts"], data["train_labels"])
    cal = LabeledTexts(data["cal_texts"], data["cal_labels"])
    started, cpu_started = time.perf_counter(), time.process_time()
    backend.fit(train, cal)
    train_s = time.perf_counter() - started
    train_cpu_s = time.process_time() - cpu_started
    started = time.perf_counter()
    proba = backend.predict_proba(data["val_texts"])
    predict_s = time.perf_counter() - started
    three = classification_metrics(data["val_labels"], proba, CLASSES)
    proba2 = np.stack([proba[:, 0], proba[:, 1] + proba[:, 2]], axis=1)
    binary = classification_metrics(binary_of(data["val_labels"]), proba2, ["normal", "toxic"])
    result: dict[str, Any] = {
        "three_class": summary(three),
        "binary": {**summary(binary), "from": "three-class model: p(offensive) + p(hate)"},
        "train_s": round(train_s, 1),
        # CPU seconds of this process (all its threads): the machine is shared, so wall time
        # depends on what else runs; this does not.
        "train_cpu_s": round(train_cpu_s, 1),
        "predict_per_s": round(len(data["val_texts"]) / predict_s, 1),
        "device": backend.device,
        "hyperparameters": backend.hyperparameters(),
        "library_versions": backend.library_versions(),
    }
    if backend_name == "tfidf_logreg":
        separate = make_backend(backend_name, ["normal", "toxic"], seed=SEED)
        separate.fit(LabeledTexts(train.texts, binary_of(train.labels)))
        p = separate.predict_proba(data["val_texts"])
        result["binary_separate"] = summary(
            classification_metrics(binary_of(data["val_labels"]), p, ["normal", "toxic"])
        )
    return result


def load_data(limit: int | None) -> dict[str, Any]:
    texts, labels = load_split("train")
    texts, labels = limited(texts, labels, limit)
    keep, held = stratified_holdout(labels, 0.1, SEED)
    val_texts, val_labels = load_split("val")
    val_texts, val_labels = limited(val_texts, val_labels, limit // 4 if limit else None)
    return {
        "train_texts": [texts[i] for i in keep],
        "train_labels": [labels[i] for i in keep],
        "cal_texts": [texts[i] for i in held],
        "cal_labels": [labels[i] for i in held],
        "val_texts": val_texts,
        "val_labels": val_labels,
    }


def print_table(results: dict[str, Any]) -> None:
    print(
        f"{'backend':<14}{'task':<13}{'acc':>7}{'macroF1':>9}{'AUROC':>8}{'ECE':>7}"
        f"{'train_s':>10}{'pred/s':>9}"
    )
    for name, r in results.items():
        if not isinstance(r, dict) or "three_class" not in r:
            continue
        for task in ("three_class", "binary", "binary_separate"):
            if task not in r:
                continue
            m = r[task]
            print(
                f"{name:<14}{task:<13}{m['accuracy']:>7.3f}{m['macro_f1']:>9.3f}"
                f"{m['auroc']:>8.3f}{m['ece']:>7.3f}{r['train_s']:>10.1f}"
                f"{r['predict_per_s']:>9.1f}"
            )
    print("reference (paper, test split, 3 classes): BERT 0.690 / 0.674 / 0.843")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tfidf_logreg,minilm")
    parser.add_argument("--limit", type=int, default=None, help="train items (val: a quarter)")
    # Unset flags leave the backend's defaults (classifiers/backends/transformer.py DEFAULTS,
    # what the app trains): the bench measures the app's model unless told otherwise.
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--class-weight", choices=["balanced", "none"], default=None)
    parser.add_argument(
        "--freeze-embeddings",
        action="store_const",
        const=True,
        default=None,
        help="keep the word-embedding table frozen (faster on a CPU; tuned by default)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model-path", default=None, help="a local HF folder (default MiniLM)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    data = load_data(args.limit)
    print(
        f"train {len(data['train_texts'])}, calibration {len(data['cal_texts'])}, "
        f"val {len(data['val_texts'])}",
        flush=True,
    )
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name in args.backends.split(","):
        if name not in ("tfidf_logreg", "minilm"):
            parser.error(f"unknown backend {name}")
        results[name] = run_backend(name, args, data)
        results[name]["limit"] = args.limit
        results[name]["n_train"] = len(data["train_texts"])
        results[name]["n_val"] = len(data["val_texts"])
        results[name]["machine"] = f"{platform.machine()}, {platform.processor() or 'cpu'}"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"{name}: done in {results[name]['train_s']} s", flush=True)
    print_table(results)


if __name__ == "__main__":
    main()
