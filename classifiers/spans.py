"""Spans over texts: character sets, the SemEval-2021 Task 5 character F1, span metrics.

Pure Python (no numpy): the web process may import it. Offsets are code points, as the rubric
stores them (`text[start:end]` in Python), and a span is ``{start, end, label[, score]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SCORE_BINS = 10


def char_set(spans: Iterable[Mapping[str, Any]]) -> set[int]:
    """The character offsets a list of spans covers (labels ignored, as the task's metric)."""
    out: set[int] = set()
    for s in spans:
        out.update(range(int(s["start"]), int(s["end"])))
    return out


def char_f1(predicted: set[int], gold: set[int]) -> float:
    """SemEval-2021 Task 5: F1 of the predicted vs gold offsets of one text; 1.0 when both are
    empty, 0.0 when only one is."""
    if not gold and not predicted:
        return 1.0
    if not gold or not predicted:
        return 0.0
    tp = len(predicted & gold)
    if not tp:
        return 0.0
    precision, recall = tp / len(predicted), tp / len(gold)
    return 2 * precision * recall / (precision + recall)


def _prf(predicted: set[int], gold: set[int]) -> tuple[float, float]:
    """Per-text precision and recall, with the same convention for empty sets as char_f1."""
    if not gold and not predicted:
        return 1.0, 1.0
    tp = len(predicted & gold)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(gold) if gold else 0.0
    return precision, recall


def score_histogram(scores: Sequence[float], bins: int = SCORE_BINS) -> list[dict[str, Any]]:
    """Counts of span scores per equal-width bin over [0, 1]."""
    counts = [0] * bins
    for s in scores:
        counts[min(max(int(float(s) * bins), 0), bins - 1)] += 1
    return [{"lower": b / bins, "upper": (b + 1) / bins, "count": counts[b]} for b in range(bins)]


def span_metrics(
    gold: Sequence[Sequence[Mapping[str, Any]]],
    predicted: Sequence[Sequence[Mapping[str, Any]]],
    labels: Sequence[str] = (),
) -> dict[str, Any]:
    """Averaged per-text character F1 / precision / recall, per-label character F1 (pooled
    over texts), and the distribution of predicted span scores."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    if not gold:
        raise ValueError("no texts to evaluate on")
    f1s, precisions, recalls = [], [], []
    for g, p in zip(gold, predicted, strict=True):
        gs, ps = char_set(g), char_set(p)
        f1s.append(char_f1(ps, gs))
        pr, rc = _prf(ps, gs)
        precisions.append(pr)
        recalls.append(rc)
    per_label: dict[str, float | None] = {}
    for label in labels:
        tp = fp = fn = 0
        for g, p in zip(gold, predicted, strict=True):
            gs = char_set(s for s in g if s.get("label") == label)
            ps = char_set(s for s in p if s.get("label") == label)
            tp, fp, fn = tp + len(gs & ps), fp + len(ps - gs), fn + len(gs - ps)
        per_label[label] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    scores = [float(s.get("score", 1.0)) for p in predicted for s in p]
    n = len(gold)
    return {
        "n": n,
        "classes": list(labels),
        "char_f1": sum(f1s) / n,
        "char_precision": sum(precisions) / n,
        "char_recall": sum(recalls) / n,
        "per_label_char_f1": per_label,
        "texts_with_gold_spans": sum(1 for g in gold if g),
        "texts_with_predicted_spans": sum(1 for p in predicted if p),
        "n_predicted_spans": len(scores),
        "score_histogram": score_histogram(scores),
    }


def clean_spans(spans: Any, length: int) -> list[dict[str, Any]]:
    """Spans as stored by the rubric reduced to {start, end, label}, clipped to the text."""
    out = []
    for s in spans or []:
        start, end = max(0, int(s["start"])), min(length, int(s["end"]))
        if end > start:
            out.append({"start": start, "end": end, "label": str(s["label"])})
    return out
