"""Inter-annotator agreement: Krippendorff's alpha with a bootstrap interval, Cohen's kappa.

Worker side (imports numpy, krippendorff and scikit-learn). Data come in as
``{unit: [answer, ...]}`` (one answer per annotator who labeled the unit) and go to
``krippendorff.alpha`` as value counts (units x values), which is exact and much smaller than
a raters x units matrix when there are many annotators. The level of measurement follows the
dimension: nominal for choices, ordinal for Likert, MASI distance for multi-choice sets, and
nominal over characters for spans (each character of an output is a unit whose value is the
label an annotator gave it, or none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

FLAG_BELOW = 0.667  # Krippendorff's threshold for tentative conclusions
BOOTSTRAP_SAMPLES = 500
# Resampled rows per interval: large campaigns get fewer samples (their interval is narrow and
# each alpha costs O(units)); never fewer than MIN_SAMPLES.
BOOTSTRAP_BUDGET = 3_000_000
MIN_SAMPLES = 100
MAX_SPAN_UNITS = 400  # outputs whose characters enter the spans alpha (a seeded sample)


@dataclass
class Alpha:
    alpha: float | None
    low: float | None
    high: float | None
    n_units: int
    level: str

    @property
    def flagged(self) -> bool:
        return self.alpha is not None and self.alpha < FLAG_BELOW

    def as_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "ci95": [self.low, self.high] if self.low is not None else None,
            "n_units": self.n_units,
            "level": self.level,
            "flagged": self.flagged,
        }


def masi_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """Passonneau's MASI distance: 1 - Jaccard x monotonicity."""
    if not a and not b:
        return 0.0
    union = len(a | b)
    inter = len(a & b)
    if a == b:
        m = 1.0
    elif a <= b or b <= a:
        m = 2 / 3
    elif inter:
        m = 1 / 3
    else:
        m = 0.0
    return 1 - (inter / union) * m


def _blocks(
    units: Mapping[Any, Sequence[Any]], domain: Sequence[Hashable], key: Callable[[Any], Any]
) -> dict[Any, Any]:
    """Each unit's value-count rows (one row, or one per character for spans)."""
    import numpy as np

    index = {v: i for i, v in enumerate(domain)}
    out = {}
    for unit, answers in units.items():
        rows = key(answers)
        block = np.zeros((len(rows), len(domain)))
        for r, values in enumerate(rows):
            for v in values:
                block[r, index[v]] += 1
        out[unit] = block
    return out


def _alpha_of(counts: Any, domain: Sequence[Any], level: Any) -> float | None:
    """Alpha from a units x values count matrix; None where it is undefined."""
    import krippendorff

    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0 or (pairable.sum(axis=0) > 0).sum() < 2:
        return None  # no unit with two labels, or everyone used one value: undefined
    return float(
        krippendorff.alpha(
            value_counts=pairable, value_domain=list(range(len(domain))), level_of_measurement=level
        )
    )


def _stack(blocks: Sequence[Any], width: int) -> Any:
    import numpy as np

    return np.concatenate(blocks) if blocks else np.zeros((0, width))


def _bootstrap(
    blocks: Sequence[Any], domain: Sequence[Any], level: Any, samples: int, seed: int
) -> tuple[float | None, float | None]:
    """Percentile interval from resampling units (items) with replacement."""
    import numpy as np

    rows = sum(len(b) for b in blocks)
    samples = min(samples, max(MIN_SAMPLES, BOOTSTRAP_BUDGET // max(rows, 1)))
    rng = np.random.default_rng(seed)
    # One row per item (every dimension but spans): resample rows of one matrix at once.
    flat = _stack(blocks, len(domain)) if all(len(b) == 1 for b in blocks) else None
    stats = []
    for _ in range(samples):
        picks = rng.integers(0, len(blocks), len(blocks))
        counts = flat[picks] if flat is not None else _stack([blocks[i] for i in picks], 0)
        value = _alpha_of(counts, domain, level)
        if value is not None:
            stats.append(value)
    if len(stats) < samples // 2:
        return None, None
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def _level_and_rows(
    dim: Mapping[str, Any], units: Mapping[Any, Sequence[Any]], texts: Mapping[Any, str]
) -> tuple[Any, list[Any], Callable[[Any], Any]]:
    kind = dim["type"]
    if kind == "choice":
        return "nominal", [o["value"] for o in dim["options"]], lambda a: [list(a)]
    if kind == "likert":
        return "ordinal", list(range(dim["min"], dim["max"] + 1)), lambda a: [list(a)]
    if kind == "multi_choice":
        domain = sorted({frozenset(a) for answers in units.values() for a in answers}, key=sorted)
        table = [[masi_distance(x, y) for y in domain] for x in domain]

        def masi(v1: Any, v2: Any, *_: Any, **__: Any) -> Any:
            import numpy as np

            return np.asarray(table)[v1.astype(int), v2.astype(int)]

        return masi, domain, lambda a: [[frozenset(x) for x in a]]
    raise ValueError(f"no item-level alpha for {kind}")


def span_sample(units: Mapping[Any, Any], seed: int = 0) -> list[Any]:
    """The outputs whose characters enter the spans alpha: all, or a seeded sample."""
    import random

    keys = sorted(units)
    if len(keys) > MAX_SPAN_UNITS:
        keys = sorted(random.Random(seed).sample(keys, MAX_SPAN_UNITS))
    return keys


def span_units(answers: Sequence[Sequence[dict[str, Any]]], length: int) -> list[list[str]]:
    """Per character, the label each annotator gave it ("" for none; first label if several)."""
    rows: list[list[str]] = [[] for _ in range(length)]
    for spans in answers:
        given = [""] * length
        for s in sorted(spans, key=lambda s: (s["label"], s["start"]), reverse=True):
            given[s["start"] : min(s["end"], length)] = [s["label"]] * (
                min(s["end"], length) - s["start"]
            )
        for c, label in enumerate(given):
            rows[c].append(label)
    return rows


def _span_block(answers: Sequence[Any], length: int, domain: Sequence[Any]) -> Any:
    return _blocks({0: answers}, domain, lambda a: span_units(a, length))[0]


def alpha_for(
    dim: Mapping[str, Any],
    units: Mapping[Any, Sequence[Any]],
    texts: Mapping[Any, str] | None = None,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> Alpha:
    """Krippendorff's alpha of one dimension over `units` (item: answers), with a 95% interval."""
    if dim["type"] == "spans":
        keys = span_sample(units, seed)
        units = {k: units[k] for k in keys}
        lengths = texts or {}
        domain: list[Any] = [""] + [o["value"] for o in dim["labels"]]
        level: Any = "nominal"
        blocks = [_span_block(units[k], len(lengths.get(k, "")), domain) for k in keys]
    else:
        level, domain, key = _level_and_rows(dim, units, texts or {})
        blocks = list(_blocks(units, domain, key).values()) if domain else []
    level_name = level if isinstance(level, str) else "masi"
    if dim["type"] == "spans":
        level_name = "nominal (characters)"
    alpha = _alpha_of(_stack(blocks, len(domain)), domain, level) if len(domain) > 1 else None
    if alpha is None:
        return Alpha(None, None, None, len(blocks), level_name)
    low, high = _bootstrap(blocks, domain, level, samples, seed)
    return Alpha(alpha, low, high, len(blocks), level_name)


def pairwise_kappa(
    labels: Mapping[int, Mapping[Any, Any]], min_common: int = 10
) -> list[dict[str, Any]]:
    """Cohen's kappa for each pair of annotators with at least `min_common` items in common.

    `labels` maps annotator -> {item: label}. The contingency tables are counted in one pass
    over the items (each item adds to the pairs of its own annotators), then statsmodels'
    cohens_kappa reads each table: thousands of pairs stay cheap.
    """
    import numpy as np
    from statsmodels.stats.inter_rater import cohens_kappa

    by_item: dict[Any, list[tuple[int, str]]] = {}
    for who, answers in labels.items():
        for item, label in answers.items():
            by_item.setdefault(item, []).append((who, str(label)))
    tables: dict[tuple[int, int], Counter[tuple[str, str]]] = {}
    for given in by_item.values():
        for (a, la), (b, lb) in combinations(sorted(given), 2):
            tables.setdefault((a, b), Counter())[(la, lb)] += 1
    out = []
    for (a, b), table in sorted(tables.items()):
        n = sum(table.values())
        if n < min_common:
            continue
        values = sorted({v for pair in table for v in pair})
        index = {v: i for i, v in enumerate(values)}
        matrix = np.zeros((len(values), len(values)))
        for (la, lb), count in table.items():
            matrix[index[la], index[lb]] = count
        # One label used by both throughout leaves kappa undefined (0/0).
        kappa = float(cohens_kappa(matrix, return_results=False)) if len(values) > 1 else None
        out.append({"a": a, "b": b, "n": n, "kappa": kappa})
    return out
