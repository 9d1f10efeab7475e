"""A span tagger's training run: snapshot of the consensus spans, train, evaluate with the
character F1, promote or not. Called from training_run_execute for runs of kind span_tagger.

Worker side only: the transformer tagger imports torch when called.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.models import ClassifierVersion, TrainingRun
from classifiers.selectors import span_dimensions, span_labeled_items
from classifiers.training_set import SpanSet, build_span_set, span_strata

if TYPE_CHECKING:
    from classifiers.backends import SpanTagger

PRIMARY_METRIC = "char_f1"


def span_snapshot(run: TrainingRun) -> SpanSet:
    from classifiers.services.training import fixed_slices

    labels = span_dimensions(run.campaign)[run.target]
    items = span_labeled_items(campaign=run.campaign, dimension=run.target)
    ss = build_span_set(items, labels, fixed_slices(run, span_strata(items)))
    if not any(ss.spans["train"]):
        raise ValueError("the training slice has no span to learn from")
    if not ss.item_ids["eval"]:
        raise ValueError("the evaluation slice is empty")
    run.classes = labels
    run.train_item_ids = ss.item_ids["train"]
    run.calibration_item_ids = ss.item_ids["calibration"]
    run.eval_item_ids = ss.item_ids["eval"]
    run.labels_sha256 = ss.labels_sha256
    run.n_labels = sum(ss.count(s) for s in ("train", "calibration", "eval"))
    counts = dict.fromkeys(labels, 0)
    for name in ("train", "calibration", "eval"):
        for spans in ss.spans[name]:
            for s in spans:
                counts[s["label"]] += 1
    counts["(no span)"] = sum(1 for n in ss.spans.values() for spans in n if not spans)
    run.label_counts = counts
    run.save(
        update_fields=[
            "classes",
            "train_item_ids",
            "calibration_item_ids",
            "eval_item_ids",
            "labels_sha256",
            "n_labels",
            "label_counts",
        ]
    )
    return ss


def span_train(run: TrainingRun, ss: SpanSet, params: dict[str, Any]) -> SpanTagger:
    from classifiers.backends import SpannedTexts, make_tagger
    from classifiers.services.training import artifact_root

    tagger = make_tagger(run.backend, ss.labels, seed=run.seed, params=params)
    train = SpannedTexts(ss.texts["train"], ss.spans["train"])
    cal = SpannedTexts(ss.texts["calibration"], ss.spans["calibration"])
    started = time.perf_counter()
    tagger.fit(train, cal if cal.texts else None)
    run.train_seconds = time.perf_counter() - started
    directory = artifact_root() / str(run.pk)
    if directory.exists():
        shutil.rmtree(directory)  # a re-run of the same run id starts clean
    tagger.save(directory)
    run.artifact_path = str(directory)
    run.device = tagger.device
    run.library_versions = tagger.library_versions()
    run.hyperparameters = tagger.hyperparameters()
    return tagger


def span_evaluate(tagger: SpanTagger, ss: SpanSet) -> dict[str, Any]:
    """Character F1 (SemEval-2021 Task 5) and the rest on the evaluation slice only."""
    from classifiers.spans import span_metrics

    started = time.perf_counter()
    predicted = tagger.predict_spans(ss.texts["eval"])
    seconds = time.perf_counter() - started
    metrics = span_metrics(ss.spans["eval"], predicted, ss.labels)
    metrics["predict_per_s"] = round(len(predicted) / seconds, 1) if seconds > 0 else None
    return metrics


def span_decide(
    run: TrainingRun, ss: SpanSet, metrics: dict[str, Any], active: ClassifierVersion | None
) -> tuple[bool, str, dict[str, Any] | None]:
    """The document classifier's rule: promote only if better on this run's evaluation slice."""
    from classifiers.backends import load_any
    from classifiers.services.training import promotion_decision

    return promotion_decision(
        run,
        metrics,
        active,
        metric=PRIMARY_METRIC,
        classes=ss.labels,
        what="span labels",
        baseline=lambda v: span_evaluate(load_any(Path(v.run.artifact_path)), ss),  # type: ignore[arg-type]
    )


def span_run_execute(run: TrainingRun, requested: dict[str, Any]) -> None:
    """Snapshot, train, evaluate, promote or not. Exceptions propagate to the caller, which
    records the failure."""
    from classifiers.services.training import _active_version, _record_version

    ss = span_snapshot(run)
    tagger = span_train(run, ss, requested)
    run.metrics = span_evaluate(tagger, ss)
    active = _active_version(run)
    promote, reason, baseline = span_decide(run, ss, run.metrics, active)
    _record_version(run, promote, reason, baseline, active)
