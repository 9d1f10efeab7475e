"""Running a training run on a worker: snapshot, train, evaluate, promote or not, predict.

Worker side only: the backends import scikit-learn or torch when called.
"""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from classifiers.models import ClassifierVersion, DataSlice, TrainingRun
from classifiers.selectors import primary_target
from classifiers.services.crossfit import DEFAULT_FOLDS, out_of_fold_proba
from classifiers.services.predictions import publish_predictions
from classifiers.training_set import TrainingSet, build_training_set, deal_slices
from labeling.quality.selectors import LabeledItem, choice_dimensions, labeled_items

if TYPE_CHECKING:
    from classifiers.backends import ClassifierBackend

log = logging.getLogger(__name__)

PRIMARY_METRIC = "macro_f1"
# Hyperparameters of the training procedure, not of the model.
RUN_PARAMETERS = ("crossfit_folds", "sample_weights")


def artifact_root() -> Path:
    return Path(settings.VAR_DIR) / "classifiers"


def _claim(run_id: int, task_id: str) -> bool:
    """Queued, or running under this same task: a redelivery after its worker was killed (the
    run starts over; its writes are re-run safe)."""
    mine = Q(status=TrainingRun.Status.QUEUED)
    if task_id:
        mine |= Q(status=TrainingRun.Status.RUNNING, task_id=task_id)
    return bool(
        TrainingRun.objects.filter(mine, pk=run_id).update(
            status=TrainingRun.Status.RUNNING, started_at=timezone.now(), error="", task_id=task_id
        )
    )


def fixed_slices(run: TrainingRun, labeled: list[LabeledItem]) -> dict[int, str]:
    """Every labeled item's slice: kept from earlier runs, dealt (and stored) for new items."""
    existing = dict(
        DataSlice.objects.filter(campaign_id=run.campaign_id, target=run.target).values_list(
            "item_id", "slice"
        )
    )
    fresh = [x for x in labeled if x.item_id not in existing]
    dealt = deal_slices(fresh, seed=run.seed + run.pk)
    DataSlice.objects.bulk_create(
        [
            DataSlice(campaign_id=run.campaign_id, target=run.target, item_id=i, slice=s, run=run)
            for i, s in dealt.items()
        ],
        ignore_conflicts=True,
    )
    return {**existing, **dealt}


def _snapshot(run: TrainingRun) -> TrainingSet:
    classes = choice_dimensions(run.campaign)[run.target]
    labeled = labeled_items(campaign=run.campaign, dimension=run.target)
    ts = build_training_set(labeled, classes, fixed_slices(run, labeled))
    if len(set(ts.labels["train"])) < 2:
        raise ValueError("the training slice has fewer than two classes")
    if not ts.item_ids["eval"]:
        raise ValueError("the evaluation slice is empty")
    run.classes = classes
    run.train_item_ids = ts.item_ids["train"]
    run.calibration_item_ids = ts.item_ids["calibration"]
    run.eval_item_ids = ts.item_ids["eval"]
    run.labels_sha256 = ts.labels_sha256
    run.n_labels = sum(ts.count(s) for s in ("train", "calibration", "eval"))
    everything = ts.labels["train"] + ts.labels["calibration"] + ts.labels["eval"]
    run.label_counts = {c: everything.count(i) for i, c in enumerate(classes)}
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
    return ts


def _model_params(run: TrainingRun) -> dict[str, Any]:
    """The backend's own hyperparameters (the run's minus those of the procedure)."""
    return {k: v for k, v in run.hyperparameters.items() if k not in RUN_PARAMETERS}


def _train(run: TrainingRun, ts: TrainingSet) -> ClassifierBackend:
    from classifiers.backends import LabeledTexts, make_backend

    folds = int(run.hyperparameters.get("crossfit_folds", DEFAULT_FOLDS))
    backend = make_backend(run.backend, ts.classes, seed=run.seed, params=_model_params(run))
    train = LabeledTexts(ts.texts["train"], ts.labels["train"], ts.weights["train"])
    cal = LabeledTexts(ts.texts["calibration"], ts.labels["calibration"])
    started = time.perf_counter()
    backend.fit(train, cal if cal.texts else None)
    run.train_seconds = time.perf_counter() - started
    directory = artifact_root() / str(run.pk)
    if directory.exists():
        shutil.rmtree(directory)  # a re-run of the same run id starts clean
    backend.save(directory)
    run.artifact_path = str(directory)
    run.device = backend.device
    run.library_versions = backend.library_versions()
    run.hyperparameters = {
        **backend.hyperparameters(),
        "sample_weights": "label confidence",
        "crossfit_folds": folds,
    }
    return backend


def _out_of_fold(
    run: TrainingRun, ts: TrainingSet, params: dict[str, Any]
) -> dict[int, list[float]]:
    """Each snapshot item's class probabilities from a fold model that did not train on it,
    fit with the hyperparameters the run asked for (`params`)."""
    started = time.perf_counter()
    ids, proba = out_of_fold_proba(
        run.backend,
        ts,
        folds=int(run.hyperparameters["crossfit_folds"]),
        seed=run.seed,
        params=params,
    )
    run.metrics = {
        **(run.metrics or {}),
        "crossfit_seconds": round(time.perf_counter() - started, 3),
    }
    return {item_id: [float(p) for p in proba[r]] for r, item_id in enumerate(ids)}


def evaluate(backend: ClassifierBackend, ts: TrainingSet) -> dict[str, Any]:
    """Metrics on the evaluation slice only: those items never train."""
    from classifiers.metrics import classification_metrics

    proba = backend.predict_proba(ts.texts["eval"])
    return classification_metrics(ts.labels["eval"], proba, ts.classes)


def _active_version(run: TrainingRun) -> ClassifierVersion | None:
    return (
        ClassifierVersion.objects.select_related("run")
        .filter(campaign_id=run.campaign_id, target=run.target, is_active=True)
        .first()
    )


def promotion_decision(
    run: TrainingRun,
    metrics: dict[str, Any],
    active: ClassifierVersion | None,
    *,
    metric: str,
    classes: list[str],
    what: str,
    baseline: Callable[[ClassifierVersion], dict[str, Any]],
) -> tuple[bool, str, dict[str, Any] | None]:
    """The promotion rule of every classifier kind: the first version is promoted, and so is one
    whose `classes` (named `what`) differ from the active version's, which cannot be compared;
    otherwise only one whose `metric` beats the active version's on this run's evaluation slice
    (`baseline` evaluates the active version there)."""
    n = metrics["n"]
    if active is None:
        return (
            True,
            f"first version for {run.target} "
            f"({metric} {metrics[metric]:.3f} on {n} evaluation items)",
            None,
        )
    if active.run.classes != classes:
        return True, f"the {what} changed since {active.name}; it cannot be compared", None
    base = baseline(active)
    new, old = metrics[metric], base[metric]
    verdict = "better than" if new > old else "not better than"
    reason = (
        f"{metric} {new:.3f} {verdict} {old:.3f} of {active.name} on the same {n} evaluation items"
    )
    return new > old, reason, base


def _decide(
    run: TrainingRun, ts: TrainingSet, metrics: dict[str, Any], active: ClassifierVersion | None
) -> tuple[bool, str, dict[str, Any] | None]:
    """Promote only if better than the active version on this run's evaluation slice."""
    from classifiers.backends import load_backend

    return promotion_decision(
        run,
        metrics,
        active,
        metric=PRIMARY_METRIC,
        classes=ts.classes,
        what="classes",
        baseline=lambda v: evaluate(load_backend(Path(v.run.artifact_path)), ts),
    )


def _record_version(
    run: TrainingRun,
    promote: bool,
    reason: str,
    baseline: dict[str, Any] | None,
    active: ClassifierVersion | None,
) -> ClassifierVersion:
    with transaction.atomic():
        if promote and active is not None:
            ClassifierVersion.objects.filter(pk=active.pk).update(is_active=False)
        version = ClassifierVersion.objects.create(
            run=run,
            campaign_id=run.campaign_id,
            target=run.target,
            name=f"{run.target}-{run.backend}-r{run.pk}",
            is_active=promote,
            promoted=promote,
            decision=reason,
            compared_with=active,
            baseline_metrics=baseline,
            activated_at=timezone.now() if promote else None,
        )
        run.save()
    return version


def training_run_execute(run_id: int, task_id: str = "") -> None:
    """Claim the queued run and carry it through; a failure is recorded on the run. `task_id`
    is the Celery task's (see _claim)."""
    if not _claim(run_id, task_id):
        log.info("training run %s is not queued; nothing to do", run_id)
        return
    run = TrainingRun.objects.select_related("campaign__rubric").get(pk=run_id)
    requested = _model_params(run)  # _train replaces them with the fitted model's
    try:
        if run.kind == TrainingRun.Kind.SPAN_TAGGER:
            from classifiers.services.span_training import span_run_execute

            span_run_execute(run, requested)
            _succeed(run_id)
            return
        ts = _snapshot(run)
        backend = _train(run, ts)
        run.metrics = evaluate(backend, ts)
        active = _active_version(run)
        promote, reason, baseline = _decide(run, ts, run.metrics, active)
        version = _record_version(run, promote, reason, baseline, active)
        if promote:
            # The harm estimates use the primary target's predictions on labeled items: those
            # the model trained on get out-of-fold predictions instead.
            on_items = run.target == primary_target(run.campaign)
            oof = _out_of_fold(run, ts, requested) if on_items else None
            if oof is not None:
                TrainingRun.objects.filter(pk=run.pk).update(metrics=run.metrics)
            publish_predictions(version, backend, out_of_fold=oof)
    except Exception:
        log.exception("training run %s failed", run_id)
        TrainingRun.objects.filter(pk=run_id).update(
            status=TrainingRun.Status.FAILED,
            error=traceback.format_exc()[-4000:],
            finished_at=timezone.now(),
        )
        return
    _succeed(run_id)


def _succeed(run_id: int) -> None:
    TrainingRun.objects.filter(pk=run_id).update(
        status=TrainingRun.Status.SUCCEEDED, finished_at=timezone.now()
    )
