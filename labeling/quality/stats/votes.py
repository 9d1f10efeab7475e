"""Item-level consensus by vote, for one item at a time (the cheap update on submit).

Each function takes the values given by the annotators who answered a dimension and returns
a ``Vote``: the consensus value, its confidence, a posterior (or summary) and the method.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Vote:
    value: Any
    confidence: float
    posterior: dict[str, Any] | None
    method: str
    n_labels: int


def vote_choice(values: Sequence[str], options: Sequence[str]) -> Vote:
    """Plurality; ties go to the option listed first in the rubric (deterministic)."""
    counts = Counter(values)
    n = len(values)
    rank = {o: i for i, o in enumerate(options)}
    best = min(counts, key=lambda v: (-counts[v], rank.get(v, len(rank)), v))
    posterior = {o: counts.get(o, 0) / n for o in options}
    return Vote(best, counts[best] / n, posterior, "majority", n)


def vote_multi_choice(values: Sequence[Sequence[str]], options: Sequence[str]) -> Vote:
    """Binary relevance: an option is in the consensus when a strict majority chose it."""
    n = len(values)
    shares = {o: sum(o in v for v in values) / n for o in options}
    chosen = [o for o in options if shares[o] > 0.5]
    touched = [s for s in shares.values() if s > 0]
    confidence = sum(max(s, 1 - s) for s in touched) / len(touched) if touched else 1.0
    return Vote(chosen, confidence, shares, "majority", n)


def vote_likert(values: Sequence[int]) -> Vote:
    """The mean is the value; the median and spread go alongside it."""
    n = len(values)
    median = float(statistics.median(values))
    agreeing = sum(abs(v - median) <= 0.5 for v in values) / n
    summary = {
        "median": median,
        "std": statistics.pstdev(values) if n > 1 else 0.0,
        "counts": {str(k): c for k, c in sorted(Counter(values).items())},
    }
    return Vote(statistics.fmean(values), agreeing, summary, "mean", n)


def char_votes(
    spans_per_annotator: Sequence[Sequence[dict[str, Any]]],
) -> dict[str, Counter[int]]:
    """Per label, how many annotators marked each character (an annotator counts once)."""
    marked: dict[str, Counter[int]] = {}
    for spans in spans_per_annotator:
        own: dict[str, set[int]] = {}
        for s in spans:
            own.setdefault(s["label"], set()).update(range(s["start"], s["end"]))
        for label, chars in own.items():
            marked.setdefault(label, Counter()).update(chars)
    return marked


def _runs(chars: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for c in sorted(chars):
        if runs and runs[-1][1] == c:
            runs[-1] = (runs[-1][0], c + 1)
        else:
            runs.append((c, c + 1))
    return runs


def vote_spans(spans_per_annotator: Sequence[Sequence[dict[str, Any]]], text: str) -> Vote:
    """Character-level vote: a character is in a label's span when a strict majority marked it.

    The confidence is the mean agreeing share over every character anyone marked (1.0 when
    nobody marked anything: all agree there is no span).
    """
    n = len(spans_per_annotator)
    marked = char_votes(spans_per_annotator)
    spans: list[dict[str, Any]] = []
    agreeing: list[float] = []
    for label in sorted(marked):
        counts = marked[label]
        agreeing.extend(max(c, n - c) / n for c in counts.values())
        for start, end in _runs([ch for ch, c in counts.items() if c * 2 > n]):
            spans.append({"start": start, "end": end, "label": label, "text": text[start:end]})
    spans.sort(key=lambda s: (s["start"], s["end"], s["label"]))
    confidence = sum(agreeing) / len(agreeing) if agreeing else 1.0
    return Vote(spans, confidence, None, "char_vote", n)


def vote_dimension(dim: dict[str, Any], answers: Sequence[Any], text: str) -> Vote | None:
    """The vote for one dimension of the rubric; None for free text or no answers."""
    if not answers:
        return None
    kind = dim["type"]
    if kind == "choice":
        return vote_choice(answers, [o["value"] for o in dim["options"]])
    if kind == "multi_choice":
        return vote_multi_choice(answers, [o["value"] for o in dim["options"]])
    if kind == "likert":
        return vote_likert(answers)
    if kind == "spans":
        return vote_spans(answers, text)
    return None
