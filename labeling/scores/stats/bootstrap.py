"""Bootstrap intervals that respect how the data were collected.

Prompts are the sampling unit: several outputs of one prompt, and the annotators who rated
them, move together. The two-level bootstrap resamples prompts and then, within each drawn
prompt, each item's annotators, so annotator noise is inside the interval too.

On a large slice (CLOSED_FORM_MIN_PROMPTS prompts or more) the resamples are replaced by their
closed form: a normal interval whose variance is what those resamples estimate, the prompt
(cluster) variance of a ratio mean plus, for the two-level case, each item's annotator-redraw
variance. With hundreds of prompts the two agree to the bootstrap's own Monte Carlo error
(tests/labeling/scores/test_stats.py), and the closed form costs one pass over the rows instead
of a thousand: at a million annotations the bootstraps were half of a full score refresh.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from labeling.scores.stats.intervals import normal_interval

BOOTSTRAP_RESAMPLES = 2000
# From this many prompts on, summary intervals use the closed form (a caller's choice:
# `closed_form_from`); the percentile bootstrap stays below it, where a mean of skewed values
# over few clusters is not yet normal.
CLOSED_FORM_MIN_PROMPTS = 400
# Resamples are drawn in blocks so that a million annotations never need a (B x rows) matrix.
_BLOCK_CELLS = 2_000_000

FloatArray = npt.NDArray[np.float64]
NAN3 = (math.nan, math.nan, math.nan)


def _prompt_weights(rng: np.random.Generator, n_prompts: int, size: int) -> FloatArray:
    """How often each prompt is drawn in each of `size` resamples (rows sum to n_prompts).

    One bincount over all draws: numpy's multinomial with thousands of categories is ~20x slower.
    """
    draws = rng.integers(0, n_prompts, size=(size, n_prompts))
    draws += np.arange(size)[:, None] * n_prompts
    counts = np.bincount(draws.ravel(), minlength=size * n_prompts)
    return counts.reshape(size, n_prompts).astype(float)


def cluster_normal_mean(
    sums: FloatArray,
    counts: FloatArray,
    extra_var_sum: float = 0.0,
    *,
    bounds: tuple[float, float] | None = None,
) -> tuple[float, float, float]:
    """Ratio mean sum(sums)/sum(counts) over clusters (g >= 2) with a normal 95% interval.

    The variance is the linearized one a bootstrap over clusters estimates,
    G/(G-1) * sum_g (S_g - m N_g)^2 / N^2, plus `extra_var_sum` / N^2 (the within-cluster
    redraw variance of the summed values, for a second bootstrap level). `bounds` clips the
    interval to the values' range, which a percentile interval never leaves either.
    """
    total = float(counts.sum())
    point = float(sums.sum() / total)
    g = len(sums)
    resid = sums - point * counts
    variance = (float((resid**2).sum()) * g / (g - 1) + extra_var_sum) / total**2
    low, high = normal_interval(point, variance, bounds=bounds)
    return (point, low, high)


def _percentiles(stats: FloatArray) -> tuple[float, float]:
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_mean_over_prompts(
    values_by_prompt: Mapping[int, Sequence[float]],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of item values, and a percentile 95% interval resampling prompts with replacement."""
    groups = [np.asarray(v, dtype=float) for v in values_by_prompt.values() if len(v)]
    if not groups:
        return NAN3
    sums = np.array([g.sum() for g in groups])
    counts = np.array([len(g) for g in groups], dtype=float)
    point = float(sums.sum() / counts.sum())
    if len(groups) == 1:
        return (point, point, point)
    weights = _prompt_weights(np.random.default_rng(seed), len(groups), resamples)
    means = (weights @ sums) / (weights @ counts)
    return (point, *_percentiles(means))


def _sorted_rows(
    prompt_ids: npt.ArrayLike, item_ids: npt.ArrayLike, values: npt.ArrayLike
) -> tuple[FloatArray, npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Rows ordered by (prompt, item); the start of each item's rows and each prompt's items."""
    p = np.asarray(prompt_ids)
    i = np.asarray(item_ids)
    v = np.asarray(values, dtype=float)
    order = np.lexsort((i, p))
    p, i, v = p[order], i[order], v[order]
    new_item = np.ones(len(i), dtype=bool)
    new_item[1:] = (i[1:] != i[:-1]) | (p[1:] != p[:-1])
    item_starts = np.flatnonzero(new_item)
    item_prompt = p[item_starts]
    new_prompt = np.ones(len(item_starts), dtype=bool)
    new_prompt[1:] = item_prompt[1:] != item_prompt[:-1]
    prompt_starts = np.flatnonzero(new_prompt)
    return v, item_starts, prompt_starts, item_prompt


def two_level_bootstrap_mean(
    prompt_ids: npt.ArrayLike,
    item_ids: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    closed_form_from: int | None = None,
) -> tuple[float, float, float]:
    """Mean of item means (one row per annotation) with a two-level percentile 95% interval.

    Each resample draws prompts with replacement, then redraws every item's annotations with
    replacement. A prompt drawn twice reuses one annotator redraw, which can only widen the
    interval a little (never narrow it). With `closed_form_from` prompts or more, the interval
    is the resamples' closed form instead (module docstring).
    """
    v, item_starts, prompt_starts, _ = _sorted_rows(prompt_ids, item_ids, values)
    if len(v) == 0:
        return NAN3
    k = np.diff(np.append(item_starts, len(v))).astype(float)
    item_means = np.add.reduceat(v, item_starts) / k
    point = float(item_means.mean())
    n_prompts = len(prompt_starts)
    items_per_prompt = np.diff(np.append(prompt_starts, len(item_starts))).astype(float)
    if n_prompts == 1 and np.all(k == 1):
        return (point, point, point)
    if closed_form_from is not None and n_prompts >= max(closed_form_from, 2):
        # A redraw of item i's k_i ratings has variance s_i^2 / k_i (s_i^2 with ddof 0). A
        # prompt drawn w times adds w copies of one redraw, so the resamples carry it with
        # E[w^2] = 2 - 1/G (the widening the docstring above allows for).
        spread = np.clip(np.add.reduceat(v * v, item_starts) / k - item_means**2, 0.0, None)
        redraw = float((spread / k).sum()) * (2.0 - 1.0 / n_prompts)
        prompt_sums = np.add.reduceat(item_means, prompt_starts)
        bounds = (float(v.min()), float(v.max()))
        _, low, high = cluster_normal_mean(prompt_sums, items_per_prompt, redraw, bounds=bounds)
        return (point, low, high)
    rng = np.random.default_rng(seed)
    # Row r belongs to item row_item[r]; a redraw picks offset floor(U * k) within that item.
    row_item = np.repeat(np.arange(len(item_starts)), k.astype(int))
    row_start, row_k = item_starts[row_item], k[row_item]
    block = max(1, _BLOCK_CELLS // len(v))
    stats: list[FloatArray] = []
    for done in range(0, resamples, block):
        size = min(block, resamples - done)
        draws = rng.random((size, len(v)), dtype=np.float32)
        picks = row_start + (draws * row_k.astype(np.float32)).astype(np.intp)
        redrawn = np.add.reduceat(v[picks], item_starts, axis=1) / k
        prompt_sums = np.add.reduceat(redrawn, prompt_starts, axis=1)
        weights = _prompt_weights(rng, n_prompts, size)
        stats.append((weights * prompt_sums).sum(axis=1) / (weights @ items_per_prompt))
    return (point, *_percentiles(np.concatenate(stats)))


def paired_bootstrap_difference(
    a: Mapping[int, float],
    b: Mapping[int, float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, float | int | None]:
    """Mean of a - b over the prompts both models answered, with a bootstrap over those prompts.

    `a` and `b` map a prompt to that model's per-prompt value (e.g. the share of its outputs
    judged unsafe). Pairing removes the prompt-difficulty variance two unpaired intervals carry.
    """
    shared = sorted(set(a) & set(b))
    if not shared:
        return {"diff": None, "low": None, "high": None, "n_prompts": 0}
    d = np.array([a[p] - b[p] for p in shared], dtype=float)
    point = float(d.mean())
    if len(d) == 1:
        return {"diff": point, "low": point, "high": point, "n_prompts": 1}
    weights = _prompt_weights(np.random.default_rng(seed), len(d), resamples)
    low, high = _percentiles((weights @ d) / len(d))
    return {"diff": point, "low": low, "high": high, "n_prompts": len(d)}


def group_means(
    groups: npt.ArrayLike, values: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per group (e.g. prompt): the ids, sums and counts of `values`."""
    g = np.asarray(groups)
    v = np.asarray(values, dtype=float)
    ids, inverse = np.unique(g, return_inverse=True)
    sums = np.bincount(inverse, weights=v, minlength=len(ids)).astype(float)
    counts = np.bincount(inverse, minlength=len(ids)).astype(float)
    return np.asarray(ids, dtype=float), sums, counts


def bootstrap_mean_grouped(
    groups: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    closed_form_from: int | None = None,
) -> tuple[float, float, float]:
    """bootstrap_mean_over_prompts for arrays: one value per item, `groups` its prompt; with
    `closed_form_from` prompts or more, the bootstrap's closed form (module docstring)."""
    _, sums, counts = group_means(groups, values)
    if len(sums) == 0:
        return NAN3
    point = float(sums.sum() / counts.sum())
    if len(sums) == 1:
        return (point, point, point)
    if closed_form_from is not None and len(sums) >= max(closed_form_from, 2):
        v = np.asarray(values, dtype=float)
        _, low, high = cluster_normal_mean(sums, counts, bounds=(float(v.min()), float(v.max())))
        return (point, low, high)
    weights = _prompt_weights(np.random.default_rng(seed), len(sums), resamples)
    return (point, *_percentiles((weights @ sums) / (weights @ counts)))


def paired_differences(
    values: npt.ArrayLike, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> dict[tuple[int, int], dict[str, float | int | None]]:
    """paired_bootstrap_difference for every pair of rows of a (models x prompts) matrix.

    NaN marks a prompt a model did not answer. One set of prompt weights serves every pair
    (each pair's interval is still a plain bootstrap over its shared prompts), so twenty
    models cost one weight matrix and 190 matrix-vector products instead of 190 bootstraps.
    """
    v = np.asarray(values, dtype=float)
    n_models, n_prompts = v.shape
    out: dict[tuple[int, int], dict[str, float | int | None]] = {}
    if n_models < 2 or n_prompts == 0:
        return out
    weights = _prompt_weights(np.random.default_rng(seed), n_prompts, resamples)
    seen = ~np.isnan(v)
    filled = np.where(seen, v, 0.0)
    # Pairs that share every prompt (the usual case) need only each model's resampled sums.
    resampled = weights @ filled.T
    for i in range(n_models):
        for j in range(i + 1, n_models):
            shared = seen[i] & seen[j]
            k = int(shared.sum())
            if k == 0:
                out[(i, j)] = {"diff": None, "low": None, "high": None, "n_prompts": 0}
                continue
            d = np.where(shared, filled[i] - filled[j], 0.0)
            point = float(d.sum() / k)
            if k == 1:
                out[(i, j)] = {"diff": point, "low": point, "high": point, "n_prompts": 1}
                continue
            if k == n_prompts:
                stats = (resampled[:, i] - resampled[:, j]) / n_prompts
            else:
                mass = weights @ shared.astype(float)
                # A resample that drew none of the shared prompts says nothing: it is dropped.
                ok = mass > 0
                stats = (weights @ d)[ok] / mass[ok]
            low, high = _percentiles(stats)
            out[(i, j)] = {"diff": point, "low": low, "high": high, "n_prompts": k}
    return out
