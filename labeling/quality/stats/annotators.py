"""Per-annotator quality figures from plain rows (pure Python; cheap enough anywhere)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class AnnotatorStats:
    annotator_id: int
    n_labels: int = 0
    gold_answers: int = 0
    gold_correct: int = 0
    agreement: float | None = None  # share of categorical answers equal to the consensus
    agreement_n: int = 0
    median_time_ms: float | None = None
    skipped: int = 0
    skip_rate: float | None = None
    confusion: dict[str, Any] = field(default_factory=dict)  # {dimension: {true: {given: p}}}

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gold_accuracy": self.gold_accuracy}


def annotator_stats(
    annotations: Iterable[tuple[int, int, dict[str, Any], int | None]],
    consensus: Mapping[tuple[int, str], Any],
    categorical: Iterable[str],
    gold: Mapping[int, tuple[int, int]],
    finished: Mapping[int, tuple[int, int]],
    confusion: Mapping[str, Mapping[int, Any]],
) -> list[AnnotatorStats]:
    """Figures per annotator.

    annotations: (item, annotator, values, time_spent_ms); consensus: (item, dimension) -> value;
    gold: annotator -> (answers, correct); finished: annotator -> (submitted, skipped);
    confusion: dimension -> annotator -> Dawid-Skene confusion matrix.
    """
    dims = list(categorical)
    stats: dict[int, AnnotatorStats] = {}
    times: dict[int, list[int]] = defaultdict(list)
    hits: dict[int, list[bool]] = defaultdict(list)
    for item, who, values, spent in annotations:
        s = stats.setdefault(who, AnnotatorStats(who))
        s.n_labels += 1
        if spent is not None:
            times[who].append(spent)
        for d in dims:
            if d in values and (item, d) in consensus:
                hits[who].append(values[d] == consensus[(item, d)])
    for who in set(gold) | set(finished):
        stats.setdefault(who, AnnotatorStats(who))
    for who, s in stats.items():
        if times[who]:
            s.median_time_ms = float(statistics.median(times[who]))
        if hits[who]:
            s.agreement, s.agreement_n = sum(hits[who]) / len(hits[who]), len(hits[who])
        s.gold_answers, s.gold_correct = gold.get(who, (0, 0))
        submitted, skipped = finished.get(who, (0, 0))
        s.skipped = skipped
        s.skip_rate = skipped / (submitted + skipped) if submitted + skipped else None
        s.confusion = {d: m[who] for d, m in confusion.items() if who in m}
    return sorted(stats.values(), key=lambda s: s.annotator_id)
