"""Out-of-fold predictions for the items a run trained on (cross-fitting).

The prediction-powered harm estimate corrects the classifier with its residuals on labeled items.
A model's predictions on the very items it was fit to are too good, so the correction is biased
and the interval too narrow (measured: 60% coverage for a nominal 95%). Cross-prediction
(Zrnic & Candes, PNAS 2024) fixes this: the labeled items are split into K folds, a model of the
same kind is fit on the other folds and predicts each fold, and those out-of-fold predictions
stand in for the full model's on every item of the run's snapshot. Items labeled after the run
were never trained on, so the full model's predictions stay valid for them.

Worker side only: the backends import scikit-learn or torch when called.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from classifiers.training_set import TrainingSet

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

DEFAULT_FOLDS = 5
# Slices whose items the full model was fit to (training, temperature scaling) or compared on.
SNAPSHOT_SLICES = ("train", "calibration", "eval")


def assign_folds(labels: list[int], k: int, seed: int) -> list[int]:
    """A fold per item, stratified by class so every fold sees every class it can."""
    rng = random.Random(seed)
    folds = [0] * len(labels)
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    offset = 0
    for label in sorted(by_class):
        members = by_class[label]
        rng.shuffle(members)
        for j, i in enumerate(members):
            folds[i] = (offset + j) % k
        offset += len(members)
    return folds


def out_of_fold_proba(
    backend_name: str,
    ts: TrainingSet,
    *,
    folds: int,
    seed: int,
    params: dict[str, Any],
) -> tuple[list[int], NDArray[np.float64]]:
    """(item ids, class probabilities) for every snapshot item, each predicted by a model that
    did not see it. A fold whose training part lacks a class is still fit on what it has: the
    backends return a probability for every class of the run."""
    import numpy as np

    from classifiers.backends import LabeledTexts, make_backend

    ids: list[int] = []
    texts: list[str] = []
    labels: list[int] = []
    weights: list[float] = []
    for name in SNAPSHOT_SLICES:
        ids += ts.item_ids[name]
        texts += ts.texts[name]
        labels += ts.labels[name]
        weights += ts.weights[name]
    k = max(2, min(folds, len(ids)))
    fold_of = assign_folds(labels, k, seed)
    proba = np.zeros((len(ids), len(ts.classes)), dtype=float)
    for fold in range(k):
        fit_rows = [i for i, f in enumerate(fold_of) if f != fold]
        held = [i for i, f in enumerate(fold_of) if f == fold]
        if not held:
            continue
        if len({labels[i] for i in fit_rows}) < 2:
            raise ValueError(f"cross-fitting fold {fold} has fewer than two classes to fit")
        model = make_backend(backend_name, ts.classes, seed=seed + fold + 1, params=params)
        model.fit(
            LabeledTexts(
                [texts[i] for i in fit_rows],
                [labels[i] for i in fit_rows],
                [weights[i] for i in fit_rows],
            ),
            None,
        )
        proba[held] = model.predict_proba([texts[i] for i in held])
    return ids, proba
