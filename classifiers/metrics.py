"""Classifier metrics on an evaluation slice: accuracy, macro-F1, AUROC, AUPRC, ECE, confusion
matrix and the reliability diagram's bins. Worker side: imports scikit-learn when called."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

ECE_BINS = 10


def reliability_bins(
    y_true: NDArray[np.int64], proba: NDArray[np.float64], n_bins: int = ECE_BINS
) -> list[dict[str, float | int]]:
    """Top-label confidence vs accuracy per equal-width bin (empty bins left out)."""
    import numpy as np

    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # The first bin is closed on the left so a confidence of exactly 0 is counted.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins: list[dict[str, float | int]] = []
    for b in range(n_bins):
        mask = which == b
        if not mask.any():
            continue
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "confidence": float(confidence[mask].mean()),
                "accuracy": float(correct[mask].mean()),
                "count": int(mask.sum()),
            }
        )
    return bins


def expected_calibration_error(bins: list[dict[str, float | int]]) -> float:
    total = sum(int(b["count"]) for b in bins)
    if not total:
        return 0.0
    return sum(
        int(b["count"]) / total * abs(float(b["accuracy"]) - float(b["confidence"])) for b in bins
    )


def _ranking_scores(
    y_true: NDArray[np.int64], proba: NDArray[np.float64], n_classes: int
) -> tuple[float | None, float | None]:
    """AUROC and AUPRC (one-vs-rest macro over classes present); None when undefined."""
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    if n_classes == 2:
        if len(np.unique(y_true)) < 2:
            return None, None
        return (
            float(roc_auc_score(y_true, proba[:, 1])),
            float(average_precision_score(y_true, proba[:, 1])),
        )
    aurocs: list[float] = []
    auprcs: list[float] = []
    for c in range(n_classes):
        positive = (y_true == c).astype(int)
        if 0 < positive.sum() < len(positive):
            aurocs.append(float(roc_auc_score(positive, proba[:, c])))
            auprcs.append(float(average_precision_score(positive, proba[:, c])))
    if not aurocs:
        return None, None
    return float(np.mean(aurocs)), float(np.mean(auprcs))


def classification_metrics(
    labels: list[int], proba: NDArray[np.float64], classes: list[str]
) -> dict[str, Any]:
    """Every figure a training run reports, as plain JSON values."""
    import numpy as np
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    if len(labels) != proba.shape[0]:
        raise ValueError("labels and probabilities differ in length")
    if not labels:
        raise ValueError("no labels to evaluate on")
    y_true = np.asarray(labels, dtype=np.int64)
    y_pred = proba.argmax(axis=1)
    k = len(classes)
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    auroc, auprc = _ranking_scores(y_true, proba, k)
    bins = reliability_bins(y_true, proba)
    return {
        "n": len(labels),
        "classes": list(classes),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        # Macro over the classes that occur (in truth or prediction), as scikit-learn does.
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro")),
        "auroc": auroc,
        "auprc": auprc,
        "ece": expected_calibration_error(bins),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=list(range(k))).tolist(),
        "reliability": bins,
        "support": np.bincount(y_true, minlength=k).tolist(),
    }
