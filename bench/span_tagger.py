#!/usr/bin/env python3
"""Span taggers on Toxic Spans (SemEval-2021 Task 5): trained through Assay, scored on trial.

The train posts (tsd_train.csv) come in through the project's own paths: prompts import, items,
then each post's gold spans as the item's gold answer (`item_mark_gold`, which writes a "gold"
consensus; an empty list is the answer "no toxic span"). Each tagger is trained by a training run
requested as the app does (`training_run_request`, the Celery task run eagerly in this process):
the run's own slices (70% train, 10% calibration for the threshold and the epoch, 20%
evaluation), the backend's own default hyperparameters (no overrides: what the bench measures
is what the app trains). The active version then scores tsd_trial.csv through `score_texts`,
and the task's character F1 is computed against the trial gold.

Writes the "lexicon" and "transformer" keys of bench/results/span_tagger.json (the agreement
keys come from bench/span_agreement.py).

Usage (from the repository root):
    .venv/bin/python bench/span_tagger.py [--backends span_lexicon,span_transformer]
        [--limit N] [--threads 2]
"""

from __future__ import annotations

import argparse
import csv
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

RESULTS = ROOT / "bench" / "results" / "span_tagger.json"
DATA = ROOT.parent / "shared" / "datasets" / "toxic_spans"
DIMENSION = "toxic_spans"
RUBRIC = {
    "dimensions": [
        {
            "name": DIMENSION,
            "type": "spans",
            "label": "Toxic spans",
            "required": False,
            "labels": [{"value": "toxic", "label": "Toxic"}],
        }
    ]
}
KEYS = {"span_lexicon": "lexicon", "span_transformer": "transformer"}


def offsets_to_spans(offsets: list[int], length: int) -> list[dict[str, Any]]:
    """The task's list of character offsets as contiguous spans, clipped to the text."""
    spans: list[dict[str, Any]] = []
    for c in sorted(set(o for o in offsets if 0 <= o < length)):
        if spans and spans[-1]["end"] == c:
            spans[-1]["end"] = c + 1
        else:
            spans.append({"start": c, "end": c + 1, "label": "toxic"})
    return spans


def read_split(name: str, limit: int | None = None) -> list[tuple[str, list[dict[str, Any]]]]:
    csv.field_size_limit(10_000_000)
    rows = []
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = row["text"]
            rows.append((text, offsets_to_spans(json.loads(row["spans"]), len(text))))
            if limit and len(rows) >= limit:
                break
    return rows


def build_campaign(posts: list[tuple[str, list[dict[str, Any]]]]) -> Any:
    """One item per post, its gold spans as the item's gold answer (the consensus)."""
    from django.contrib.auth import get_user_model

    from generation.models import CandidateModel
    from labeling.campaigns.services import NewItem, campaign_create, items_create, prompts_import
    from labeling.models import Item, Prompt
    from labeling.quality.gold import item_mark_gold

    owner, _ = get_user_model().objects.get_or_create(username="toxic-spans-admin")
    campaign = campaign_create(user=owner, name="Toxic Spans train", rubric=RUBRIC)
    lines = [json.dumps({"id": f"post-{i}", "text": f"Post {i}"}) for i in range(len(posts))]
    prompts_import(campaign=campaign, data="\n".join(lines), fmt="jsonl")
    prompt_ids = dict(Prompt.objects.filter(campaign=campaign).values_list("external_id", "id"))
    model, _ = CandidateModel.objects.get_or_create(
        name="civil-comments", defaults={"backend": CandidateModel.Backend.IMPORTED}
    )
    new = [
        NewItem(prompt_id=prompt_ids[f"post-{i}"], sample_index=0, text=text)
        for i, (text, _) in enumerate(posts)
    ]
    items_create(campaign=campaign, model_id=model.pk, params_hash="tsd-train", new_items=new)
    item_of = dict(Item.objects.filter(campaign=campaign).values_list("prompt__external_id", "id"))
    for i, (_, spans) in enumerate(posts):
        item_mark_gold(
            campaign=campaign, item_id=item_of[f"post-{i}"], gold_values={DIMENSION: spans}
        )
    return campaign


def train_and_score(
    campaign: Any, backend: str, trial: list[tuple[str, list[dict[str, Any]]]]
) -> dict[str, Any]:
    from classifiers.models import ClassifierVersion, TrainingRun
    from classifiers.services.runs import training_run_request
    from classifiers.services.scoring import score_texts
    from classifiers.spans import span_metrics

    started, cpu = time.perf_counter(), time.process_time()
    run = training_run_request(campaign=campaign, target=DIMENSION, backend=backend)
    run.refresh_from_db()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if run.status != TrainingRun.Status.SUCCEEDED:
        raise SystemExit(f"{backend}: run {run.pk} {run.status}: {run.error[-2000:]}")
    version = ClassifierVersion.objects.select_related("run").get(run=run)
    texts = [t for t, _ in trial]
    score_texts(version, texts[:8])  # load the model (cached), as a warm worker has it
    t0 = time.perf_counter()
    results = score_texts(version, texts)
    predict_s = time.perf_counter() - t0
    predicted = [r["spans"] for r in results]
    trial_metrics = span_metrics([g for _, g in trial], predicted, ["toxic"])
    assert run.metrics is not None
    return {
        "trial_char_f1": trial_metrics["char_f1"],
        "trial_char_precision": trial_metrics["char_precision"],
        "trial_char_recall": trial_metrics["char_recall"],
        "trial_n": trial_metrics["n"],
        "trial_score_histogram": trial_metrics["score_histogram"],
        "eval_slice_char_f1": run.metrics["char_f1"],
        "eval_slice_n": run.metrics["n"],
        "train_s": round(float(run.train_seconds or 0.0), 1),
        "run_wall_s": round(wall, 1),
        # CPU seconds of this process for the whole run (training, evaluation, predictions):
        # the figure that does not depend on how many other processes share the cores.
        "run_cpu_s": round(cpu, 1),
        "predict_per_s": round(len(texts) / predict_s, 1),
        "n_train": len(run.train_item_ids),
        "n_calibration": len(run.calibration_item_ids),
        "hyperparameters": run.hyperparameters,
        "device": run.device,
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="span_lexicon,span_transformer")
    parser.add_argument("--limit", type=int, default=None, help="first N train posts only")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.threads:
        os.environ["ASSAY_TORCH_THREADS"] = str(args.threads)
    var_dir = tempfile.mkdtemp(prefix="assay-spans-")
    load_before = os.getloadavg()
    try:
        setup_django(ASSAY_VAR_DIR=var_dir, CELERY_TASK_ALWAYS_EAGER="true")
        train = read_split("tsd_train.csv", args.limit)
        trial = read_split("tsd_trial.csv")
        t0 = time.perf_counter()
        campaign = build_campaign(train)
        import_s = time.perf_counter() - t0
        print(f"imported {len(train)} posts with gold spans in {import_s:.1f} s")
        for backend in args.backends.split(","):
            result = train_and_score(campaign, backend, trial)
            result["load_average_before"] = [round(x, 2) for x in load_before]
            result["n_train_posts_imported"] = len(train)
            # Read again: bench/span_agreement.py writes its keys into the same file.
            out: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
            out[KEYS[backend]] = result
            print(
                f"{backend:18} trial char F1 {result['trial_char_f1']:.4f} "
                f"(P {result['trial_char_precision']:.3f} R {result['trial_char_recall']:.3f}); "
                f"eval slice {result['eval_slice_char_f1']:.4f}; train {result['train_s']:.1f} s; "
                f"{result['predict_per_s']:.0f} texts/s; load {result['load_average_1m_after']}"
            )
            args.out.write_text(json.dumps(out, indent=2) + "\n")
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
