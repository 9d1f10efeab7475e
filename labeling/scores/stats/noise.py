"""Correcting a harm rate for annotator error.

Two estimates of the true rate p, each with an interval that carries its own uncertainty:

- Rogan-Gladen (Rogan & Gladen 1978): annotators say "unsafe" with probability
  q = se·p + (1 - sp)(1 - p), se and sp their sensitivity and specificity, so
  p = (q + sp - 1) / (se + sp - 1). q is the share of "unsafe" answers over the sampled items
  (each item weighted once, its answers averaged), se and sp are measured on gold items (their
  expected answers as the truth), each gold answer weighted by how much its annotator labels
  outside gold, so the error rates match the mix of annotators behind q. The interval is the
  delta method over q, se and sp (independent samples; se and sp with a variance clustered by
  gold item).
- Dawid-Skene's class prior: the EM of Dawid & Skene (1979) for a binary label, per annotator
  confusion, fitted on the slice's answers; its interval is a percentile bootstrap that
  resamples items and annotators (both, independently), refitting each time.

Pure numpy; no Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labeling.scores.stats.intervals import Z95, normal_interval

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Gold evidence below which sensitivity/specificity are too rough to divide by.
MIN_GOLD_ITEMS = 3  # per class
MIN_GOLD_ANSWERS = 20  # per class
# se + sp - 1 must stay clearly above 0 (annotators better than coin flips), or the
# correction explodes; its lower 95% bound must be above this.
MIN_YOUDEN = 0.2


@dataclass(frozen=True)
class GoldRates:
    se: float
    var_se: float
    sp: float
    var_sp: float
    n_pos_items: int
    n_neg_items: int
    n_pos_answers: int
    n_neg_answers: int


def _clustered_ratio(hit: FloatArray, weight: FloatArray, cluster: IntArray) -> tuple[float, float]:
    """sum(w·hit) / sum(w) and its variance, clustered (ratio estimator's linearization)."""
    total = float(weight.sum())
    ratio = float((weight * hit).sum() / total)
    _, inverse = np.unique(cluster, return_inverse=True)
    resid = np.bincount(inverse, weights=weight * (hit - ratio))
    g = len(resid)
    var = float((resid**2).sum() / total**2 * (g / (g - 1))) if g > 1 else math.inf
    return ratio, var


def gold_rates(
    gold_item: npt.ArrayLike,
    truth_positive: npt.ArrayLike,
    answer_positive: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
) -> GoldRates | str:
    """Sensitivity and specificity from answers on gold items, or why they cannot be had."""
    item = np.asarray(gold_item, dtype=np.int64)
    truth = np.asarray(truth_positive, dtype=bool)
    answer = np.asarray(answer_positive, dtype=bool)
    w = np.ones(len(item)) if weight is None else np.asarray(weight, dtype=float)
    keep = w > 0
    item, truth, answer, w = item[keep], truth[keep], answer[keep], w[keep]
    n_pos_items, n_neg_items = len(np.unique(item[truth])), len(np.unique(item[~truth]))
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if min(n_pos_items, n_neg_items) < MIN_GOLD_ITEMS or min(n_pos, n_neg) < MIN_GOLD_ANSWERS:
        return (
            f"too little gold on harm to measure annotator error: {n_pos_items} unsafe and "
            f"{n_neg_items} safe gold items with {n_pos} and {n_neg} answers (needs "
            f"{MIN_GOLD_ITEMS} items and {MIN_GOLD_ANSWERS} answers of each)"
        )
    se, var_se = _clustered_ratio(answer[truth].astype(float), w[truth], item[truth])
    sp, var_sp = _clustered_ratio((~answer[~truth]).astype(float), w[~truth], item[~truth])
    return GoldRates(se, var_se, sp, var_sp, n_pos_items, n_neg_items, n_pos, n_neg)


def rogan_gladen(q: float, var_q: float, gold: GoldRates, *, z: float = Z95) -> dict[str, Any]:
    """The corrected rate with its delta-method interval; `reason` set when not served."""
    youden = gold.se + gold.sp - 1
    var_youden = gold.var_se + gold.var_sp
    base = {
        "sensitivity": gold.se,
        "specificity": gold.sp,
        "observed": q,
        "gold_items": gold.n_pos_items + gold.n_neg_items,
        "gold_answers": gold.n_pos_answers + gold.n_neg_answers,
    }
    if youden - z * math.sqrt(var_youden) <= MIN_YOUDEN:
        return {
            "estimate": None,
            "low": None,
            "high": None,
            "reason": (
                f"annotators barely beat chance on gold (sensitivity {gold.se:.2f} + "
                f"specificity {gold.sp:.2f} - 1 = {youden:.2f}, needs a lower bound above "
                f"{MIN_YOUDEN}); the correction would be unstable"
            ),
            **base,
        }
    p = (q + gold.sp - 1) / youden
    variance = (var_q + p**2 * gold.var_se + (1 - p) ** 2 * gold.var_sp) / youden**2
    low, high = normal_interval(p, variance, z=z, bounds=(0.0, 1.0))
    return {
        "estimate": min(max(p, 0.0), 1.0),
        "low": low,
        "high": high,
        "reason": None,
        **base,
    }


# --- Dawid-Skene, binary ------------------------------------------------------------------------

DS_ITERATIONS = 50
DS_TOL = 1e-6


def dawid_skene_binary(
    item: IntArray,
    worker: IntArray,
    label: npt.NDArray[np.bool_],
    weight: FloatArray | None = None,
    *,
    n_items: int | None = None,
    n_workers: int | None = None,
    item_weight: FloatArray | None = None,
) -> tuple[float, FloatArray]:
    """(class prior P(positive), per-item posterior) by EM; items and workers are 0..n-1.

    `weight` counts each answer that many times and `item_weight` each item in the prior (a
    bootstrap's multiplicities).
    """
    n_i = int(item.max()) + 1 if n_items is None else n_items
    n_w = int(worker.max()) + 1 if n_workers is None else n_workers
    w = np.ones(len(item)) if weight is None else weight
    y = label.astype(float)
    # Start from each item's (weighted) share of positive answers.
    pos = np.bincount(item, weights=w * y, minlength=n_i)
    tot = np.bincount(item, weights=w, minlength=n_i)
    seen = tot > 0
    iw = np.where(seen, 1.0, 0.0) if item_weight is None else np.where(seen, item_weight, 0.0)
    post = np.where(seen, pos / np.maximum(tot, 1e-12), 0.5)
    prior = 0.5
    for _ in range(DS_ITERATIONS):
        t = post[item]
        # Confusion per worker with add-one smoothing: sensitivity and specificity.
        se = (np.bincount(worker, weights=w * t * y, minlength=n_w) + 1) / (
            np.bincount(worker, weights=w * t, minlength=n_w) + 2
        )
        sp = (np.bincount(worker, weights=w * (1 - t) * (1 - y), minlength=n_w) + 1) / (
            np.bincount(worker, weights=w * (1 - t), minlength=n_w) + 2
        )
        new_prior = float((iw * post).sum() / iw.sum()) if iw.sum() > 0 else 0.5
        new_prior = min(max(new_prior, 1e-6), 1 - 1e-6)
        log_pos = np.log(np.where(y == 1, se[worker], 1 - se[worker]))
        log_neg = np.log(np.where(y == 1, 1 - sp[worker], sp[worker]))
        lp = math.log(new_prior) + np.bincount(item, weights=w * log_pos, minlength=n_i)
        ln = math.log(1 - new_prior) + np.bincount(item, weights=w * log_neg, minlength=n_i)
        new_post = np.where(seen, 1 / (1 + np.exp(np.clip(ln - lp, -50, 50))), 0.0)
        done = abs(new_prior - prior) < DS_TOL and np.abs(new_post - post).max() < DS_TOL
        post, prior = new_post, new_prior
        if done:
            break
    return prior, post


def _two_way_draw(
    rng: np.random.Generator, it: IntArray, wk: IntArray, n_i: int, n_w: int
) -> tuple[IntArray, IntArray]:
    """One bootstrap draw: (answer rows, item ids). Items are drawn with replacement, each
    copy a new item; annotators are drawn with replacement too, and the answers of those not
    drawn are left out. A twice-drawn annotator still counts once: Dawid-Skene would take two
    copies of the same answers as independent evidence, which biases the prior."""
    kept = np.bincount(rng.integers(0, n_w, n_w), minlength=n_w) > 0
    order = np.argsort(it, kind="stable")
    order = order[kept[wk[order]]]
    starts = np.searchsorted(it[order], np.arange(n_i + 1))
    drawn = rng.integers(0, n_i, n_i)
    sizes = starts[drawn + 1] - starts[drawn]
    first = np.repeat(starts[drawn], sizes)
    within = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return order[first + within], np.repeat(np.arange(n_i), sizes)


def dawid_skene_prior(
    item: npt.ArrayLike,
    worker: npt.ArrayLike,
    label: npt.ArrayLike,
    *,
    resamples: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Dawid-Skene's prior with a 95% percentile interval from a bootstrap over items and
    annotators (see `_two_way_draw`)."""
    _, it = np.unique(np.asarray(item, dtype=np.int64), return_inverse=True)
    _, wk = np.unique(np.asarray(worker, dtype=np.int64), return_inverse=True)
    lab = np.asarray(label, dtype=bool)
    n_i, n_w = int(it.max()) + 1 if len(it) else 0, int(wk.max()) + 1 if len(wk) else 0
    if n_i < 2 or n_w < 2:
        return {"estimate": None, "low": None, "high": None, "reason": "too few answers"}
    prior, _ = dawid_skene_binary(it, wk, lab, n_items=n_i, n_workers=n_w)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        rows, items = _two_way_draw(rng, it, wk, n_i, n_w)
        if not len(rows):
            continue
        draws.append(dawid_skene_binary(items, wk[rows], lab[rows], n_items=n_i, n_workers=n_w)[0])
    low, high = (float(v) for v in np.quantile(draws, [0.025, 0.975]))
    return {
        "estimate": prior,
        "low": min(low, prior),
        "high": max(high, prior),
        "resamples": len(draws),
        "reason": None,
    }


__all__ = ["GoldRates", "dawid_skene_binary", "dawid_skene_prior", "gold_rates", "rogan_gladen"]
