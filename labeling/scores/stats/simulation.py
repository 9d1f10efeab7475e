"""A simulation with a known truth, for checking that the intervals cover it.

Each repetition draws a model's outputs with a known harm rate, labels a uniform random subset
with `overlap` simulated annotators who each answer correctly with probability
`annotator_accuracy` (consensus = majority vote, as the cheap consensus does), and lets a
classifier of known quality predict P(unsafe) for every output: its score is
`separation * truth + N(0, 1)`, squashed by a logistic curve that is deliberately not
calibrated (PPI must correct the bias, not rely on calibration).

The human-only interval is Wilson's over the consensus labels; the prediction-powered one uses
the labels and the predictions on the unlabeled outputs. Noisy consensus is biased toward 1/2
by (1 - P(majority right)) * (1 - 2p), which both intervals inherit; `consensus_bias` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labeling.scores.stats.intervals import wilson_interval
from labeling.scores.stats.ppi import ppi_mean


@dataclass(frozen=True)
class Scenario:
    true_rate: float = 0.15
    n_items: int = 2000
    n_labeled: int = 200
    overlap: int = 3
    annotator_accuracy: float = 0.97
    separation: float = 3.0
    extra: dict[str, Any] = field(default_factory=dict)


def _majority_right(accuracy: float, overlap: int) -> float:
    from math import comb

    need = overlap // 2 + 1
    return sum(
        comb(overlap, j) * accuracy**j * (1 - accuracy) ** (overlap - j)
        for j in range(need, overlap + 1)
    )


def _one_repetition(rng: np.random.Generator, s: Scenario) -> tuple[tuple[float, float], Any]:
    truth = rng.random(s.n_items) < s.true_rate
    score = s.separation * truth + rng.standard_normal(s.n_items)
    f = 1.0 / (1.0 + np.exp(-(1.5 * score - 2.0)))
    labeled = rng.permutation(s.n_items)[: s.n_labeled]
    unlabeled = np.setdiff1d(np.arange(s.n_items), labeled)
    correct = rng.random((s.n_labeled, s.overlap)) < s.annotator_accuracy
    says_unsafe = np.where(correct, truth[labeled, None], ~truth[labeled, None])
    consensus = (2 * says_unsafe.sum(axis=1) > s.overlap).astype(float)
    human = wilson_interval(int(consensus.sum()), s.n_labeled)
    return human, ppi_mean(consensus, f[labeled], f[unlabeled])


def simulate_coverage(
    scenario: Scenario, *, repetitions: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Coverage and mean width of both 95% intervals over `repetitions` draws."""
    rng = np.random.default_rng(seed)
    p = scenario.true_rate
    human_cover, human_width, ppi_cover, ppi_width, lams = [], [], [], [], []
    for _ in range(repetitions):
        (h_low, h_high), ppi = _one_repetition(rng, scenario)
        human_cover.append(h_low <= p <= h_high)
        human_width.append(h_high - h_low)
        ppi_cover.append(ppi.low <= p <= ppi.high)
        ppi_width.append(ppi.width)
        lams.append(ppi.lam)
    right = _majority_right(scenario.annotator_accuracy, scenario.overlap)
    return {
        "human_only": {
            "coverage": float(np.mean(human_cover)),
            "mean_width": float(np.mean(human_width)),
        },
        "ppi": {
            "coverage": float(np.mean(ppi_cover)),
            "mean_width": float(np.mean(ppi_width)),
            "mean_lambda": float(np.mean(lams)),
        },
        "width_ratio_ppi_to_human": float(np.mean(ppi_width) / np.mean(human_width)),
        "consensus_bias": (1 - right) * (1 - 2 * p),
        "repetitions": repetitions,
    }
