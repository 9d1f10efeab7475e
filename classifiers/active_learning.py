"""Active learning: which unlabeled items the annotators should see first.

Margin (breaking-ties) uncertainty, Schröder et al. 2022: 1 - (p_top1 - p_top2), higher is more
uncertain. A class balancer multiplies it for items predicted to be of a class that is rare
among the labels so far, so a skewed pool (most outputs are safe) still yields minority
examples. The random share of picks lives in the queue itself (labeling's `next`); the
simulation here mirrors it with `select_batch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MAX_BALANCE_BOOST = 3.0


def margin_uncertainty(proba: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    if proba.shape[1] < 2:
        return np.zeros(proba.shape[0])
    top2 = np.sort(proba, axis=1)[:, -2:]
    out: NDArray[np.float64] = 1.0 - (top2[:, 1] - top2[:, 0])
    return out


def class_balance_weights(label_counts: list[int]) -> NDArray[np.float64]:
    """Per class: 1 for classes at or above an even share of the labels, up to 3 for rare ones."""
    import numpy as np

    counts = np.asarray(label_counts, dtype=np.float64)
    if counts.sum() == 0:
        return np.ones(len(counts))
    even = counts.sum() / len(counts)
    out: NDArray[np.float64] = np.clip(even / np.maximum(counts, 1.0), 1.0, MAX_BALANCE_BOOST)
    return out


def priorities(proba: NDArray[np.float64], label_counts: list[int]) -> NDArray[np.float64]:
    """Queue priority per item: margin uncertainty, boosted for predicted-minority items."""
    weights = class_balance_weights(label_counts)
    out: NDArray[np.float64] = margin_uncertainty(proba) * weights[proba.argmax(axis=1)]
    return out


def select_batch(
    priority: NDArray[np.float64], size: int, random_share: float, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Positions to label next: a random share uniformly, the rest by descending priority."""
    import numpy as np

    size = min(size, len(priority))
    n_random = round(size * random_share)
    chosen: NDArray[np.int64] = rng.choice(len(priority), size=n_random, replace=False).astype(
        np.int64
    )
    taken = np.zeros(len(priority), dtype=bool)
    taken[chosen] = True
    order = np.argsort(-priority, kind="stable")
    rest = order[~taken[order]][: size - n_random].astype(np.int64)
    out: NDArray[np.int64] = np.concatenate([chosen, rest])
    return out
