"""Correcting a harm rate for annotator error.

Two estimates of the true rate p, each with an interval that carries its own uncertainty:

- Rogan-Gladen (Rogan & Gladen 1978): annotators say "unsafe" with probability
  q = se·p + (1 - sp)(1 - p), se and sp their sensitivity and specificity, so
  p = (q + sp - 1) / (se + sp - 1). q is the share of "unsafe" answers over the sampled items
  (each item weighted once, its answers averaged), se and sp are measured on gold items (their
  expected answers as the truth), each gold answer weighted by how much its annotator labels
  outside gold, so the error rates match the mix of annotators behind q. The interval is the
  delta method over q, se and sp (independent samples; se and sp with a variance clustered by
  gold item) with a Student t quantile (Welch-Satterthwaite degrees of freedom).
- Dawid-Skene's class prior: the EM of Dawid & Skene (1979) for a binary label, per annotator
  confusion, fitted on the slice's answers; its interval is a percentile bootstrap that
  resamples items and annotators (both, independently), refitting each time.

Pure numpy (scipy for the t quantile); no Django.
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


def satterthwaite_quantile(parts: list[tuple[float, float]], level: float = 0.975) -> float:
    """Student's t quantile for a sum of variance estimates, each (variance, degrees of freedom),
    with the Welch-Satterthwaite degrees of freedom; the normal quantile when none is finite."""
    from scipy.stats import t as student_t

    total = sum(v for v, _ in parts)
    spread = sum(v * v / df for v, df in parts if 0 < df < math.inf)
    if total <= 0 or spread <= 0:
        return float(student_t.ppf(level, math.inf))
    return float(student_t.ppf(level, total * total / spread))


def rogan_gladen(
    q: float, var_q: float, gold: GoldRates, *, n_q: int | None = None, z: float = Z95
) -> dict[str, Any]:
    """The corrected rate with its delta-method interval; `reason` set when not served.

    The interval's quantile is Student's t with Welch-Satterthwaite degrees of freedom over the
    three variance terms (q's over its `n_q` items; sensitivity's and specificity's over their
    gold items, often a dozen or two): their clustered variances are rough with so few
    clusters, and a normal quantile under-covered (bench/scores_pipeline.py, 85% annotators).
    `z` is the quantile of the check that annotators beat chance.
    """
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
    parts = [
        (var_q / youden**2, math.inf if n_q is None else n_q - 1.0),
        (p**2 * gold.var_se / youden**2, gold.n_pos_items - 1.0),
        ((1 - p) ** 2 * gold.var_sp / youden**2, gold.n_neg_items - 1.0),
    ]
    variance = sum(v for v, _ in parts)
    quantile = satterthwaite_quantile(parts)
    half = quantile * math.sqrt(max(variance, 0.0))
    if p + half < 0.0 or p - half > 1.0:
        # E.g. a handful of sampled items that every annotator called safe: the unsafe share is
        # below the false-positive rate gold measured, beyond the uncertainty of both. The
        # interval would collapse onto 0 (or 1), a certainty the data do not give.
        side, bound = ("below", "false-positive rate (1 - specificity)")
        if p > 1.0:
            side, bound = ("above", "sensitivity")
        return {
            "estimate": None,
            "low": None,
            "high": None,
            "reason": (
                f"the correction leaves [0, 1]: the share of 'unsafe' answers ({q:.3f}) is "
                f"{side} the annotators' {bound} on gold beyond both uncertainties (corrected "
                f"rate {p:.3f} ± {half:.3f}); too few sampled labels, or annotators err "
                "differently here than on gold"
            ),
            **base,
        }
    low, high = normal_interval(p, variance, z=quantile, bounds=(0.0, 1.0))
    return {
        "estimate": min(max(p, 0.0), 1.0),
        "low": low,
        "high": high,
        "reason": None,
        "quantile": quantile,
        **base,
    }


# --- Dawid-Skene, binary ------------------------------------------------------------------------

DS_ITERATIONS = 50
DS_TOL = 1e-6
# Answer rows per batched EM call of the bootstrap (its arrays: a few hundred MB at most).
_DS_BATCH_ROWS = 4_000_000


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
    priors, post = dawid_skene_blocks(
        item,
        worker,
        label,
        np.zeros(len(item), dtype=np.int64),
        weight,
        n_blocks=1,
        n_items=n_i,
        n_workers=n_w,
        item_weight=item_weight,
    )
    return float(priors[0]), post


def dawid_skene_blocks(
    item: IntArray,
    worker: IntArray,
    label: npt.NDArray[np.bool_],
    block: IntArray,
    weight: FloatArray | None = None,
    *,
    n_blocks: int,
    n_items: int,
    n_workers: int,
    item_weight: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Independent Dawid-Skene fits, one per block, run as one EM over all their answers.

    Each answer row belongs to `block` (0..n_blocks-1); its item (0..n_items-1) and worker
    (0..n_workers-1) are the block's own. Returns each block's prior and the posteriors as
    (n_blocks * n_items), block after block. Every block stops at its own convergence, as a fit
    alone would: a block's result is the one a separate fit gives (to rounding). One EM over a
    bootstrap's hundred resamples replaced a hundred small ones, and each iteration makes two
    passes over the answers (the M-step's per-worker posterior mass by kind of answer, the
    E-step's per-item log odds) where the per-row formulas made twenty: Dawid-Skene had been 60%
    of a score refresh.
    """
    n_i, n_w = n_items, n_workers
    blk = np.asarray(block, dtype=np.int64)
    it = np.asarray(item, dtype=np.int64) + blk * n_i
    y = np.asarray(label).astype(bool)
    # Each answer's kind: its worker (numbered across blocks) and whether it said positive.
    kind = (np.asarray(worker, dtype=np.int64) + blk * n_w) * 2 + y
    size_i, size_k = n_blocks * n_i, n_blocks * n_w * 2
    w = None if weight is None else np.asarray(weight, dtype=float)
    # Start from each item's (weighted) share of positive answers.
    pos = np.bincount(it, weights=y if w is None else w * y, minlength=size_i)
    tot = np.bincount(it, weights=w, minlength=size_i).astype(float)
    # Per worker: the weight of its negative and positive answers (columns 0 and 1).
    answered = np.bincount(kind, weights=w, minlength=size_k).reshape(-1, 2)
    seen = tot > 0
    iw = np.where(seen, 1.0, 0.0) if item_weight is None else np.where(seen, item_weight, 0.0)
    iw_blocks = iw.reshape(n_blocks, n_i)
    iw_sum = iw_blocks.sum(axis=1)
    unseen = ~seen
    post = np.where(seen, pos / np.maximum(tot, 1e-12), 0.5)
    prior: FloatArray = np.full(n_blocks, 0.5)
    running = np.ones(n_blocks, dtype=bool)
    # Scratch arrays reused by every iteration (the loop is passes over a few million rows:
    # allocations were a third of its time).
    new_post = np.empty(size_i)
    change = np.empty(size_i)
    gap = np.empty(size_k)
    for _ in range(DS_ITERATIONS):
        t = post[it]
        if w is not None:
            t *= w
        # Per worker: the posterior mass of its negative and positive answers; the rest of
        # each column is the mass of the items' negative class.
        mass = np.bincount(kind, weights=t, minlength=size_k).reshape(-1, 2)
        # Confusion per worker with add-one smoothing: sensitivity and specificity.
        se = (mass[:, 1] + 1) / (mass.sum(axis=1) + 2)
        sp = (answered[:, 0] - mass[:, 0] + 1) / (answered.sum(axis=1) - mass.sum(axis=1) + 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            new_prior = np.einsum("bi,bi->b", iw_blocks, post.reshape(n_blocks, n_i)) / iw_sum
        new_prior = np.where(iw_sum > 0, new_prior, 0.5).clip(1e-6, 1 - 1e-6)
        # log P(answer | negative) - log P(answer | positive), per kind of answer.
        gap[0::2] = np.log(sp) - np.log(1 - se)
        gap[1::2] = np.log(1 - sp) - np.log(se)
        per_row = gap[kind]
        if w is not None:
            per_row *= w
        odds = np.bincount(it, weights=per_row, minlength=size_i)
        odds.reshape(n_blocks, n_i)[:] += (np.log(1 - new_prior) - np.log(new_prior))[:, None]
        # new_post = 1 / (1 + exp(odds)) on seen items, 0 elsewhere, computed in place.
        np.clip(odds, -50, 50, out=new_post)
        np.exp(new_post, out=new_post)
        new_post += 1.0
        np.reciprocal(new_post, out=new_post)
        new_post[unseen] = 0.0
        np.subtract(new_post, post, out=change)
        np.abs(change, out=change)
        block_change = change.reshape(n_blocks, n_i).max(axis=1, initial=0.0)
        done = (np.abs(new_prior - prior) < DS_TOL) & (block_change < DS_TOL)
        # Blocks that stopped earlier keep their values; the others take this iteration's.
        if running.all():
            post, new_post = new_post, post
        else:
            post = np.where(np.repeat(running, n_i), new_post, post)
        prior = np.where(running, new_prior, prior)
        running &= ~done
        if not running.any():
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
    rows_of, items_of = [], []
    for _ in range(resamples):
        rows, items = _two_way_draw(rng, it, wk, n_i, n_w)
        if len(rows):
            rows_of.append(rows)
            items_of.append(items)
    # All resamples in one EM (each a block of its own), a few at a time to bound memory.
    draws: list[float] = []
    per_call = max(1, _DS_BATCH_ROWS // max(1, len(it)))
    for start in range(0, len(rows_of), per_call):
        rows_b, items_b = rows_of[start : start + per_call], items_of[start : start + per_call]
        rows = np.concatenate(rows_b)
        block = np.repeat(np.arange(len(rows_b)), [len(r) for r in rows_b])
        priors, _ = dawid_skene_blocks(
            np.concatenate(items_b),
            wk[rows],
            lab[rows],
            block,
            n_blocks=len(rows_b),
            n_items=n_i,
            n_workers=n_w,
        )
        draws.extend(priors.tolist())
    low, high = (float(v) for v in np.quantile(draws, [0.025, 0.975]))
    return {
        "estimate": prior,
        "low": min(low, prior),
        "high": max(high, prior),
        "resamples": len(draws),
        "reason": None,
    }


__all__ = [
    "GoldRates",
    "dawid_skene_binary",
    "dawid_skene_blocks",
    "dawid_skene_prior",
    "gold_rates",
    "rogan_gladen",
]
