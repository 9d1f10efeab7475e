"""The statistics behind the scores: two-level bootstrap, PPI, paired differences, shared ranks,
and a simulation with a known truth that the 95% intervals must cover 93-97% of the time."""

from __future__ import annotations

import math

import numpy as np
import ppi_py
import pytest

from labeling.scores.stats.bootstrap import (
    bootstrap_mean_grouped,
    paired_bootstrap_difference,
    paired_differences,
    two_level_bootstrap_mean,
)
from labeling.scores.stats.ppi import ppi_mean
from labeling.scores.stats.ranks import shared_ranks
from labeling.scores.stats.simulation import Scenario, simulate_coverage

# --- two-level bootstrap -----------------------------------------------------------------------


def _rows(
    n_prompts: int, annotators: int, noise: float, seed: int = 0
) -> tuple[list[int], list[int], list[float]]:
    rng = np.random.default_rng(seed)
    prompts, items, values = [], [], []
    for p in range(n_prompts):
        true = rng.uniform(2, 4)
        for _ in range(annotators):
            prompts.append(p)
            items.append(p)  # one output per prompt
            values.append(true + noise * rng.standard_normal())
    return prompts, items, values


def test_two_level_point_is_the_mean_of_item_means() -> None:
    # Item 1 has three ratings, item 2 one: the point weighs items, not annotations.
    point, low, high = two_level_bootstrap_mean([1, 1, 1, 2], [10, 10, 10, 20], [1, 2, 3, 5])
    assert point == pytest.approx((2 + 5) / 2)
    assert low <= point <= high


def test_annotator_noise_widens_the_interval() -> None:
    quiet = two_level_bootstrap_mean(*_rows(40, 3, noise=0.0), resamples=1000)
    noisy = two_level_bootstrap_mean(*_rows(40, 3, noise=2.0), resamples=1000)
    assert noisy[2] - noisy[1] > 1.5 * (quiet[2] - quiet[1])


def test_one_prompt_still_carries_annotator_noise() -> None:
    point, low, high = two_level_bootstrap_mean([1, 1, 1, 1], [7, 7, 7, 7], [1, 5, 1, 5])
    assert point == 3.0
    assert low < 3.0 < high
    assert two_level_bootstrap_mean([1], [7], [4.0]) == (4.0, 4.0, 4.0)
    assert all(math.isnan(x) for x in two_level_bootstrap_mean([], [], []))


def test_two_level_bootstrap_covers_a_known_mean() -> None:
    # 300 repetitions of 30 prompts with rater noise: the interval covers the true mean 3.0.
    # Redrawing annotators on top of prompts counts rater noise twice (Davison & Hinkley 1997,
    # section 3.8), so the interval is conservative: coverage at or above nominal, never below.
    rng = np.random.default_rng(5)
    covered = 0
    for rep in range(300):
        prompt_means = rng.uniform(2, 4, size=30)
        prompts = np.repeat(np.arange(30), 3)
        values = prompt_means[prompts] + rng.standard_normal(90)
        _, low, high = two_level_bootstrap_mean(prompts, prompts, values, resamples=400, seed=rep)
        covered += low <= 3.0 <= high
    assert covered / 300 >= 0.93


def test_two_level_bootstrap_is_deterministic_with_the_seed() -> None:
    rows = _rows(20, 3, noise=1.0)
    assert two_level_bootstrap_mean(*rows, seed=3) == two_level_bootstrap_mean(*rows, seed=3)
    assert two_level_bootstrap_mean(*rows, seed=3) != two_level_bootstrap_mean(*rows, seed=4)


def _nested(n_prompts: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-3 outputs per prompt, 3 ratings each on 1..5: prompt, item and annotator variance."""
    rng = np.random.default_rng(seed)
    per_prompt = rng.integers(1, 4, size=n_prompts)
    item_prompt = np.repeat(np.arange(n_prompts), per_prompt)
    quality = rng.normal(0, 0.7, n_prompts)[item_prompt] + rng.normal(3, 0.5, len(item_prompt))
    rows = np.repeat(np.arange(len(item_prompt)), 3)
    values = np.clip(np.round(quality[rows] + rng.standard_normal(len(rows))), 1, 5)
    return item_prompt[rows], rows, values


@pytest.mark.parametrize("n_prompts", [400, 1500])
def test_closed_form_matches_the_two_level_bootstrap_on_large_slices(n_prompts: int) -> None:
    rows = _nested(n_prompts, seed=n_prompts)
    boot = two_level_bootstrap_mean(*rows, resamples=8000, seed=1)
    closed = two_level_bootstrap_mean(*rows, closed_form_from=n_prompts)
    width = boot[2] - boot[1]
    assert closed[0] == boot[0]
    # Ends within 4% of the width: the 8,000 resamples' own Monte Carlo error is about 1-2%.
    assert closed[1] == pytest.approx(boot[1], abs=0.04 * width)
    assert closed[2] == pytest.approx(boot[2], abs=0.04 * width)
    # Dropping the annotator-redraw term (one-level) would be visibly narrower.
    prompts, _, values = rows
    one_level = two_level_bootstrap_mean(
        prompts, np.arange(len(values)), values, closed_form_from=2
    )
    assert one_level[2] - one_level[1] < 0.93 * (closed[2] - closed[1])


def test_closed_form_matches_the_grouped_bootstrap_and_stays_in_range() -> None:
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 600, size=1500)
    # Span densities: mostly 0, a few items partly covered.
    density = np.where(rng.random(1500) < 0.15, rng.random(1500), 0.0)
    boot = bootstrap_mean_grouped(groups, density, resamples=8000, seed=2)
    closed = bootstrap_mean_grouped(groups, density, closed_form_from=400)
    width = boot[2] - boot[1]
    assert closed[1] == pytest.approx(boot[1], abs=0.04 * width)
    assert closed[2] == pytest.approx(boot[2], abs=0.04 * width)
    # A near-zero mean: the normal interval is clipped to the values' range, as a percentile
    # interval is by construction.
    rare = np.zeros(1500)
    rare[:2] = 1.0
    point, low, high = bootstrap_mean_grouped(groups, rare, closed_form_from=400)
    assert 0.0 == low < point < high


def test_closed_form_only_from_the_threshold() -> None:
    prompts, items, values = _nested(399, seed=7)
    below = two_level_bootstrap_mean(prompts, items, values, seed=5, closed_form_from=400)
    assert below == two_level_bootstrap_mean(prompts, items, values, seed=5)
    prompts, items, values = _nested(400, seed=7)
    at = two_level_bootstrap_mean(prompts, items, values, seed=5, closed_form_from=400)
    assert at != two_level_bootstrap_mean(prompts, items, values, seed=5)
    # Closed form: no resamples, so no seed dependence.
    assert at == two_level_bootstrap_mean(prompts, items, values, seed=6, closed_form_from=400)


# --- prediction-powered inference ------------------------------------------------------------


def test_ppi_with_lambda_one_is_the_papers_estimator() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(50) < 0.3).astype(float)
    f = np.clip(y * 0.6 + rng.random(50) * 0.4, 0, 1)
    f_unl = rng.random(400)
    r = ppi_mean(y, f, f_unl, lam=1.0)
    assert r is not None
    expected = f_unl.mean() - (f - y).mean()
    var = np.var(f_unl) / 400 + np.var(f - y) / 50
    assert r.estimate == pytest.approx(expected)
    assert (r.low, r.high) == (
        pytest.approx(max(0, expected - 1.959963984540054 * math.sqrt(var))),
        pytest.approx(min(1, expected + 1.959963984540054 * math.sqrt(var))),
    )


@pytest.mark.parametrize("lam", [None, 1.0, 0.3])
def test_ppi_matches_the_authors_package(lam: float | None) -> None:
    rng = np.random.default_rng(7)
    truth = (rng.random(2500) < 0.18).astype(float)
    noisy = np.clip(truth * 0.55 + rng.random(2500) * 0.45, 0, 1)
    y, f, f_unl = truth[:300], noisy[:300], noisy[300:]
    ours = ppi_mean(y, f, f_unl, lam=lam, bounds=None)
    assert ours is not None
    estimate = ppi_py.ppi_mean_pointestimate(y, f, f_unl, lam=lam)
    low, high = ppi_py.ppi_mean_ci(y, f, f_unl, alpha=0.05, lam=lam)
    assert ours.estimate == pytest.approx(float(np.ravel(estimate)[0]), abs=1e-9)
    assert ours.low == pytest.approx(float(np.ravel(low)[0]), abs=1e-9)
    assert ours.high == pytest.approx(float(np.ravel(high)[0]), abs=1e-9)


def test_a_perfect_classifier_narrows_and_a_useless_one_does_not_widen() -> None:
    rng = np.random.default_rng(1)
    truth = (rng.random(3000) < 0.2).astype(float)
    y, y_unl = truth[:200], truth[200:]
    perfect = ppi_mean(y, y, y_unl)
    assert perfect is not None
    assert perfect.width < 0.4 * perfect.human_width
    assert perfect.lam > 0.6
    useless = ppi_mean(y, rng.random(200), rng.random(2800))
    assert useless is not None
    assert useless.width <= useless.human_width * 1.02
    assert useless.lam < 0.2


def test_ppi_needs_data_and_paired_inputs() -> None:
    assert ppi_mean([1.0], [0.9], [0.1, 0.2]) is None
    assert ppi_mean([1.0, 0.0], [0.9, 0.1], [0.3]) is None
    with pytest.raises(ValueError):
        ppi_mean([1.0, 0.0], [0.9], [0.1, 0.2])


@pytest.mark.parametrize(
    "scenario",
    [Scenario(), Scenario(separation=0.5), Scenario(true_rate=0.4, n_labeled=300)],
    ids=["good-classifier", "weak-classifier", "common-harm"],
)
def test_intervals_cover_the_true_harm_rate(scenario: Scenario) -> None:
    r = simulate_coverage(scenario, repetitions=1000, seed=11)
    assert 0.93 <= r["human_only"]["coverage"] <= 0.97
    assert 0.93 <= r["ppi"]["coverage"] <= 0.97
    assert r["ppi"]["mean_width"] <= r["human_only"]["mean_width"] * 1.02


def test_a_good_classifier_makes_the_ppi_interval_markedly_narrower() -> None:
    r = simulate_coverage(Scenario(separation=3.0), repetitions=300, seed=2)
    assert r["width_ratio_ppi_to_human"] < 0.8


# --- paired differences and ranks ------------------------------------------------------------


def test_paired_difference_uses_shared_prompts_only() -> None:
    a = {1: 1.0, 2: 0.0, 3: 1.0, 9: 1.0}
    b = {1: 0.0, 2: 0.0, 3: 0.0, 7: 1.0}
    r = paired_bootstrap_difference(a, b)
    assert r["n_prompts"] == 3
    assert r["diff"] == pytest.approx(2 / 3)
    low, diff, high = r["low"], r["diff"], r["high"]
    assert low is not None and diff is not None and high is not None
    assert 0.0 <= low <= diff <= high <= 1.0
    assert paired_bootstrap_difference({1: 1.0}, {2: 0.0})["diff"] is None


def test_pairing_removes_prompt_difficulty() -> None:
    # Prompts vary wildly, but model a is always 0.1 worse than b on the same prompt.
    rng = np.random.default_rng(3)
    base = {p: float(rng.uniform(0, 0.9)) for p in range(100)}
    r = paired_bootstrap_difference({p: v + 0.1 for p, v in base.items()}, base)
    assert r["low"] == pytest.approx(0.1) and r["high"] == pytest.approx(0.1)


def test_overlapping_intervals_share_a_rank() -> None:
    intervals = [(0.10, 0.20), (0.15, 0.25), (0.30, 0.40), (None, None)]
    assert shared_ranks(intervals, higher_is_better=False) == [1, 1, 3, None]
    assert shared_ranks(intervals, higher_is_better=True) == [2, 2, 1, None]


def test_all_pairs_at_once_agree_with_one_pair_at_a_time() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.random((3, 60))
    matrix[2, :20] = np.nan  # the third model skipped a third of the prompts
    pairs = paired_differences(matrix, resamples=4000)
    assert set(pairs) == {(0, 1), (0, 2), (1, 2)}
    for (i, j), got in pairs.items():
        a = {p: float(v) for p, v in enumerate(matrix[i]) if not np.isnan(v)}
        b = {p: float(v) for p, v in enumerate(matrix[j]) if not np.isnan(v)}
        one = paired_bootstrap_difference(a, b, resamples=4000)
        assert got["n_prompts"] == one["n_prompts"] == (40 if 2 in (i, j) else 60)
        assert got["diff"] == pytest.approx(one["diff"])
        assert got["low"] == pytest.approx(one["low"], abs=0.03)
        assert got["high"] == pytest.approx(one["high"], abs=0.03)
