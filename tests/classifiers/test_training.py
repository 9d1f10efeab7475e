"""Training runs end to end on a slice of HateXplain: both backends, evaluation on the fixed
slice only, promotion only when better, predictions on every item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifiers.metrics import classification_metrics
from classifiers.models import ClassifierVersion, DataSlice, Prediction, TrainingRun
from classifiers.services.runs import training_run_request
from classifiers.services.training import artifact_root
from labeling.models import Campaign, Item
from tests.classifiers.helpers import build_tiny_bert, harm_of, hatexplain_rows, labeled_campaign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def train(campaign: Campaign, backend: str, **params: Any) -> TrainingRun:
    """Request a run and let its on-commit task run in this process (eager Celery)."""
    from django.test.utils import override_settings

    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        from assay.celery import app

        app.conf.task_always_eager = True
        try:
            run = training_run_request(
                campaign=campaign, target="harm", backend=backend, hyperparameters=params
            )
        finally:
            app.conf.task_always_eager = False
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    return run


def metrics_from_predictions(run: TrainingRun, item_ids: list[int]) -> dict[str, Any]:
    """Recompute a run's metrics from its stored predictions on the given items."""
    preds = {
        p.item_id: p.probabilities
        for p in Prediction.objects.filter(version__run=run, item_id__in=item_ids)
    }
    classes = run.classes
    labels = {
        i: v for i, v in Item.objects.filter(id__in=item_ids).values_list("id", "consensus__value")
    }
    proba = np.array([[preds[i][c] for c in classes] for i in item_ids])
    return classification_metrics([classes.index(labels[i]) for i in item_ids], proba, classes)


def test_both_backends_train_evaluate_on_the_eval_slice_and_a_worse_version_is_kept_out(
    tiny_bert: Path,
) -> None:
    campaign, items = labeled_campaign(240, n_unlabeled=30)

    # 1. A barely trained tiny random BERT: the first version, so it is promoted.
    bad = {"model_path": str(tiny_bert), "epochs": 1, "lr": 1e-7, "max_length": 32}
    first = train(campaign, "transformer", **bad)
    v1 = ClassifierVersion.objects.get(run=first)
    assert v1.is_active and "first version" in v1.decision
    assert first.hyperparameters["temperature"] > 0 and first.device == "cpu"
    assert (Path(first.artifact_path) / "head.safetensors").exists()
    assert Path(first.artifact_path).parent == artifact_root()

    # The snapshot: disjoint fixed slices covering every label, stratified, and recorded.
    train_ids, cal_ids, eval_ids = (
        set(first.train_item_ids),
        set(first.calibration_item_ids),
        set(first.eval_item_ids),
    )
    assert not (train_ids & eval_ids) and not (cal_ids & eval_ids) and not (train_ids & cal_ids)
    assert len(train_ids | cal_ids | eval_ids) == first.n_labels == 240
    assert 0.15 <= len(eval_ids) / 240 <= 0.25
    unsafe = sum(harm_of(r["label"]) == "unsafe" for r in hatexplain_rows()[:240])
    assert len(first.labels_sha256) == 64
    assert first.label_counts == {"safe": 240 - unsafe, "unsafe": unsafe}
    assert {"torch", "transformers"} <= set(first.library_versions)

    # 2. TF-IDF + logistic regression beats it on the same evaluation items: promoted.
    second = train(campaign, "tfidf_logreg")
    v2 = ClassifierVersion.objects.get(run=second)
    v1.refresh_from_db()
    assert v2.is_active and not v1.is_active
    assert "better than" in v2.decision and "not better" not in v2.decision
    assert second.eval_item_ids == first.eval_item_ids  # the slice is fixed across runs
    assert v2.baseline_metrics is not None
    assert v2.baseline_metrics["n"] == second.metrics["n"] == len(eval_ids)
    assert second.metrics["macro_f1"] > v2.baseline_metrics["macro_f1"]

    # Metrics are the evaluation slice's: recomputed from the stored predictions there they
    # match exactly; on the training items they are far better (the model has seen them).
    on_eval = metrics_from_predictions(second, second.eval_item_ids)
    assert on_eval["confusion_matrix"] == second.metrics["confusion_matrix"]
    assert on_eval["macro_f1"] == pytest.approx(second.metrics["macro_f1"])
    assert on_eval["auroc"] == pytest.approx(second.metrics["auroc"])
    on_train = metrics_from_predictions(second, second.train_item_ids)
    assert on_train["accuracy"] > second.metrics["accuracy"] + 0.1
    assert sum(map(sum, second.metrics["confusion_matrix"])) == len(eval_ids)

    # Every item, labeled or not, has the active version's probability and a priority.
    assert Prediction.objects.filter(version=v2).count() == len(items) == v2.n_predictions
    rows = list(
        Item.objects.filter(campaign=campaign).values_list(
            "harm_probability", "classifier_version", "priority"
        )
    )
    assert all(p is not None and 0 <= p <= 1 and v == v2.name and q is not None for p, v, q in rows)

    # 3. The bad transformer again: not better, so the active version stays.
    third = train(campaign, "transformer", **bad)
    v3 = ClassifierVersion.objects.get(run=third)
    v2.refresh_from_db()
    assert not v3.is_active and not v3.promoted and v2.is_active
    assert "not better than" in v3.decision and v2.name in v3.decision
    assert not Prediction.objects.filter(version=v3).exists()
    assert set(
        Item.objects.filter(campaign=campaign).values_list("classifier_version", flat=True)
    ) == {v2.name}


def test_slices_stay_fixed_when_labels_arrive() -> None:
    campaign, items = labeled_campaign(120, n_unlabeled=60)
    first = train(campaign, "tfidf_logreg")
    before = dict(DataSlice.objects.filter(campaign=campaign).values_list("item_id", "slice"))
    from labeling.models import Consensus

    for item, row in zip(items[120:], hatexplain_rows()[120:180], strict=True):
        Consensus.objects.create(
            campaign=campaign,
            item=item,
            dimension="harm",
            value=harm_of(row["label"]),
            confidence=0.9,
            method="majority",
        )
    second = train(campaign, "tfidf_logreg")
    after = dict(DataSlice.objects.filter(campaign=campaign).values_list("item_id", "slice"))
    assert all(after[i] == s for i, s in before.items())
    assert set(first.eval_item_ids) < set(second.eval_item_ids)
    assert second.n_labels == 180 and second.labels_sha256 != first.labels_sha256


def test_items_the_version_trained_on_get_out_of_fold_predictions() -> None:
    campaign, _ = labeled_campaign(200, n_unlabeled=40)
    run = train(campaign, "tfidf_logreg", crossfit_folds=4)
    assert run.metrics is not None
    assert run.hyperparameters["crossfit_folds"] == 4 and run.metrics["crossfit_seconds"] >= 0
    snapshot = set(run.train_item_ids) | set(run.calibration_item_ids) | set(run.eval_item_ids)
    rows = {
        i.pk: (i.harm_probability, i.harm_probability_oof)
        for i in Item.objects.filter(campaign=campaign)
    }
    assert snapshot and all(rows[i][1] is not None for i in snapshot)
    # Items the version never saw keep only the full model's prediction.
    assert all(oof is None for i, (_, oof) in rows.items() if i not in snapshot)
    # In sample the model is surer of its training labels than out of fold.
    labels = dict(
        Item.objects.filter(id__in=snapshot, consensus__dimension="harm").values_list(
            "id", "consensus__value"
        )
    )
    fit = [abs(rows[i][0] - (labels[i] == "unsafe")) for i in run.train_item_ids]
    oof = [abs(rows[i][1] - (labels[i] == "unsafe")) for i in run.train_item_ids]
    assert float(np.mean(oof)) > float(np.mean(fit))
    stored = Prediction.objects.filter(version__run=run, item_id__in=snapshot)
    assert stored.count() == len(snapshot)
    assert all(p.out_of_fold_probability == rows[p.item_id][1] for p in stored)


def test_a_run_redelivered_after_its_worker_was_killed_is_taken_over() -> None:
    from django.utils import timezone

    from classifiers.services.training import training_run_execute

    campaign, _ = labeled_campaign(60)
    # Its worker was killed mid-training: the run says running, under task t-1.
    run = TrainingRun.objects.create(
        campaign=campaign,
        target="harm",
        backend="tfidf_logreg",
        status=TrainingRun.Status.RUNNING,
        task_id="t-1",
        started_at=timezone.now(),
    )
    training_run_execute(run.pk, "t-2")  # another task does not touch a live run
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING
    training_run_execute(run.pk, "t-1")  # the broker redelivers t-1: it starts over
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert ClassifierVersion.objects.filter(run=run).count() == 1
