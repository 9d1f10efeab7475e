"""Prediction-powered inference for a mean (Angelopoulos, Bates, Fannjiang, Jordan, Zrnic 2023).

With n labeled items (human labels y, classifier predictions f) and N unlabeled items
(predictions f~ only), the estimate is

    theta = mean_n(y) + lam * (mean_N(f~) - mean_n(f)),
    var   = var_n(y - lam * f) / n + lam^2 * var_N(f~) / N      (plug-in variances, 1/n),

and theta ± 1.96·sqrt(var) is an asymptotically valid 95% interval whatever the classifier's
quality: the labeled residual y - f corrects its bias. lam = 1 is the paper's estimator
mean_N(f~) - mean_n(f - y); the default picks lam as PPI++ does (Angelopoulos, Duchi, Zrnic
2023), the variance-minimising lam = Cov(y, f) / ((1 + n/N) Var(f)) clipped to [0, 1], so a
useless classifier (lam → 0) falls back to the human-only mean instead of widening it. The
variances and lam are computed exactly as the authors' package `ppi-python` does (plug-in
variances, Var(f) over labeled and unlabeled predictions with n - 1); a test holds the two to
1e-9 on fixed data.

Validity needs the labeled items to be a uniform random sample of the model's items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labeling.scores.stats.intervals import Z95, normal_interval


@dataclass(frozen=True)
class PPIResult:
    estimate: float
    low: float
    high: float
    lam: float
    n_labeled: int
    n_unlabeled: int
    # The classical interval from the labeled items alone (same CLT form) for comparison.
    human_estimate: float
    human_low: float
    human_high: float

    @property
    def width(self) -> float:
        return self.high - self.low

    @property
    def human_width(self) -> float:
        return self.human_high - self.human_low


def _tuned_lambda(
    y: npt.NDArray[np.float64], f: npt.NDArray[np.float64], f_unl: npt.NDArray[np.float64]
) -> float:
    n, big_n = len(y), len(f_unl)
    var_f = float(np.var(np.concatenate([f, f_unl]), ddof=1))
    if var_f <= 0:
        return 0.0
    cov = float(np.cov(y, f, ddof=0)[0, 1])
    return float(np.clip(cov / ((1 + n / big_n) * var_f), 0.0, 1.0))


def ppi_mean(
    y: npt.ArrayLike,
    f: npt.ArrayLike,
    f_unlabeled: npt.ArrayLike,
    *,
    lam: float | None = None,
    z: float = Z95,
    bounds: tuple[float, float] | None = (0.0, 1.0),
) -> PPIResult | None:
    """PPI estimate of E[y]; None when there is too little data for a variance (n or N < 2)."""
    y_arr = np.asarray(y, dtype=float)
    f_arr = np.asarray(f, dtype=float)
    f_unl = np.asarray(f_unlabeled, dtype=float)
    if y_arr.shape != f_arr.shape:
        raise ValueError("y and f must pair up: one prediction per labeled item")
    n, big_n = len(y_arr), len(f_unl)
    if n < 2 or big_n < 2:
        return None
    if lam is None:
        lam = _tuned_lambda(y_arr, f_arr, f_unl)
    estimate = float(y_arr.mean() + lam * (f_unl.mean() - f_arr.mean()))
    variance = float(np.var(y_arr - lam * f_arr) / n + lam**2 * np.var(f_unl) / big_n)
    low, high = normal_interval(estimate, variance, z=z, bounds=bounds)
    human = float(y_arr.mean())
    h_low, h_high = normal_interval(human, float(np.var(y_arr, ddof=1)) / n, z=z, bounds=bounds)
    if bounds is not None:
        estimate = min(max(estimate, bounds[0]), bounds[1])
    return PPIResult(
        estimate=estimate,
        low=low,
        high=high,
        lam=lam,
        n_labeled=n,
        n_unlabeled=big_n,
        human_estimate=human,
        human_low=h_low,
        human_high=h_high,
    )


def ppi_available(n_labeled: int, n_unlabeled: int) -> str | None:
    """Why a PPI estimate cannot be made, or None when it can."""
    if n_unlabeled < 2:
        return "fewer than 2 unlabeled items with a classifier prediction"
    if n_labeled < 2:
        return "fewer than 2 labeled items with a classifier prediction"
    return None


__all__ = ["PPIResult", "ppi_available", "ppi_mean"]
