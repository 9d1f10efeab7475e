"""The harm rate's estimators: the uniform sample from the queue's record, and the corrections
for annotator error (pure math first, then through the score summary)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from labeling.exports.datasheet import datasheet_markdown
from labeling.models import Annotation, Assignment, Campaign, Consensus, Item, QueueStrategy
from labeling.scores.selectors import campaign_scores
from labeling.scores.stats.intervals import normal_interval
from labeling.scores.stats.noise import (
    DS_ITERATIONS,
    DS_TOL,
    GoldRates,
    dawid_skene_binary,
    dawid_skene_blocks,
    dawid_skene_prior,
    gold_rates,
    rogan_gladen,
    satterthwaite_quantile,
)
from labeling.scores.stats.sampling import random_prefix
from labeling.scores.summary import score_summary_refresh
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    item_for,
    make_campaign,
    make_model,
    make_user,
)
from tests.labeling.scores.test_summary import _bulk_campaign


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


# --- pure math --------------------------------------------------------------------------------


def test_random_prefix_ends_at_the_random_orders_last_start() -> None:
    keys = [0.1, 0.2, 0.3, 0.4, 0.9]
    design = random_prefix(keys, ["random", "priority", "random", "", "priority"], [1, 1, 1, 0, 1])
    assert design.reason is None and design.frontier == 0.3
    assert design.in_sample is not None and design.in_sample.tolist() == [1, 1, 1, 0, 0]


def test_random_prefix_refuses_unrecorded_and_priority_only_picks() -> None:
    unrecorded = random_prefix([0.1, 0.2], ["random", ""], [1, 1])
    assert unrecorded.in_sample is None and "before the queue recorded" in str(unrecorded.reason)
    priority = random_prefix([0.1, 0.2], ["priority", ""], [1, 0])
    assert priority.in_sample is None and "random order" in str(priority.reason)


def _noisy(rng: Any, truth: Any, acc: Any, per_item: int) -> tuple[Any, Any, Any]:
    items = np.repeat(np.arange(len(truth)), per_item)
    workers = rng.integers(0, len(acc), len(items))
    right = rng.random(len(items)) < acc[workers]
    return items, workers, np.where(right, truth[items], ~truth[items])


def test_rogan_gladen_covers_the_true_rate_under_annotator_noise() -> None:
    rng = np.random.default_rng(7)
    acc = np.where(np.arange(12) < 10, 0.85, 0.3)  # two adversarial annotators
    covered, naive_covered = 0, 0
    for _ in range(200):
        truth = rng.random(400) < 0.25
        items, _, answers = _noisy(rng, truth, acc, 3)
        shares = np.bincount(items, weights=answers) / 3
        gold_truth = np.arange(30) < 12
        g_items, _, g_answers = _noisy(rng, gold_truth, acc, 12)
        gold = gold_rates(g_items, gold_truth[g_items], g_answers)
        assert not isinstance(gold, str)
        rg = rogan_gladen(float(shares.mean()), float(shares.var(ddof=1)) / 400, gold)
        covered += rg["low"] <= truth.mean() <= rg["high"]
        majority = (shares > 0.5).mean()
        half = 1.96 * np.sqrt(majority * (1 - majority) / 400)
        naive_covered += majority - half <= truth.mean() <= majority + half
    assert 0.92 <= covered / 200 <= 0.99
    assert naive_covered / 200 < 0.8  # the uncorrected majority rate misses


def test_satterthwaite_quantile() -> None:
    assert satterthwaite_quantile([(1.0, 5.0)]) == pytest.approx(2.570582, abs=1e-6)
    assert satterthwaite_quantile([(1.0, math.inf)]) == pytest.approx(1.959964, abs=1e-6)
    # Two equal terms of 10 degrees of freedom each: 20 in all.
    assert satterthwaite_quantile([(1.0, 10.0), (1.0, 10.0)]) == pytest.approx(2.085963, abs=1e-6)
    # A term with no variance adds no freedom and takes none away.
    assert satterthwaite_quantile([(1.0, 10.0), (0.0, 2.0)]) == pytest.approx(2.228139, abs=1e-6)
    assert satterthwaite_quantile([(0.0, 3.0)]) == pytest.approx(1.959964, abs=1e-6)


def test_rogan_gladen_widens_when_gold_has_few_items() -> None:
    """Same rates and variances: measured on 8 gold items per class the interval uses a t
    quantile, on 400 it is (almost) the normal one."""

    def gold(items: int) -> GoldRates:
        return GoldRates(0.85, 0.002, 0.85, 0.002, items, items, 6 * items, 6 * items)

    few = rogan_gladen(0.3, 0.0005, gold(8), n_q=120)
    many = rogan_gladen(0.3, 0.0005, gold(400), n_q=120)
    assert few["estimate"] == many["estimate"]
    assert few["quantile"] > 2.1 and many["quantile"] < 1.975
    assert few["high"] - few["low"] > 1.07 * (many["high"] - many["low"])


def test_rogan_gladen_refuses_without_enough_gold_or_skill() -> None:
    few = gold_rates([1, 2], [True, False], [True, False])
    assert isinstance(few, str) and "too little gold" in few
    items = np.repeat(np.arange(10), 10)
    truth = items < 5
    coin = np.random.default_rng(0).random(100) < 0.5
    gold = gold_rates(items, truth, coin)
    assert not isinstance(gold, str)
    rg = rogan_gladen(0.4, 0.0001, gold)
    assert rg["estimate"] is None and "chance" in rg["reason"]


def test_rogan_gladen_refuses_a_correction_that_leaves_zero_one() -> None:
    # Gold: annotators say "unsafe" on 20% of safe items (specificity 0.8), sensitivity 0.9.
    items = np.repeat(np.arange(20), 10)
    truth = items < 10
    answers = np.where(truth, np.arange(200) % 10 < 9, np.arange(200) % 10 < 2)
    gold = gold_rates(items, truth, answers)
    assert not isinstance(gold, str)
    assert gold.sp == pytest.approx(0.8) and gold.se == pytest.approx(0.9)
    # Every sampled item's answers said safe: q = 0 with no variance of its own; the corrected
    # rate is -0.2 / 0.7, and its whole interval lies below 0.
    low = rogan_gladen(0.0, 0.0, gold)
    assert low["estimate"] is None and low["low"] is None and low["high"] is None
    assert "below" in low["reason"] and "leaves [0, 1]" in low["reason"]
    high = rogan_gladen(1.0, 0.0, gold)
    assert high["estimate"] is None and "above" in high["reason"]
    # Inside the range, or out of it only within the uncertainty, a number is served.
    for q in (0.2, 0.5, 0.9):
        rg = rogan_gladen(q, 0.0004, gold)
        assert rg["reason"] is None
        assert 0.0 <= rg["low"] <= rg["estimate"] <= rg["high"] <= 1.0


@pytest.mark.parametrize(
    ("estimate", "variance", "expected"),
    [
        (0.5, 0.01, (0.5 - 0.196, 0.5 + 0.196)),
        (0.02, 0.01, (0.0, 0.216)),
        (-0.3, 0.0001, (0.0, 0.0)),  # wholly below: both ends clip to 0, low <= high
        (1.3, 0.0001, (1.0, 1.0)),
    ],
)
def test_normal_interval_clips_both_ends_into_the_bounds(
    estimate: float, variance: float, expected: tuple[float, float]
) -> None:
    low, high = normal_interval(estimate, variance, z=1.96, bounds=(0.0, 1.0))
    assert low <= high
    assert (low, high) == pytest.approx(expected)


def test_dawid_skene_prior_recovers_the_rate_with_an_interval() -> None:
    rng = np.random.default_rng(1)
    truth = rng.random(600) < 0.3
    items, workers, answers = _noisy(rng, truth, np.full(10, 0.9), 5)
    ds = dawid_skene_prior(items, workers, answers, resamples=50)
    assert ds["low"] <= ds["estimate"] <= ds["high"]
    assert abs(ds["estimate"] - truth.mean()) < 0.03
    assert ds["low"] <= truth.mean() <= ds["high"]


def _per_row_em(
    item: Any, worker: Any, label: Any, w: Any, n_i: int, n_w: int, iw: Any
) -> tuple[float, Any]:
    """Dawid-Skene's EM written row by row (the plain formulas): the reference."""
    y = label.astype(float)
    pos = np.bincount(item, weights=w * y, minlength=n_i)
    tot = np.bincount(item, weights=w, minlength=n_i)
    seen = tot > 0
    iw = np.where(seen, iw, 0.0)
    post = np.where(seen, pos / np.maximum(tot, 1e-12), 0.5)
    prior = 0.5
    for _ in range(DS_ITERATIONS):
        t = post[item]
        se = (np.bincount(worker, weights=w * t * y, minlength=n_w) + 1) / (
            np.bincount(worker, weights=w * t, minlength=n_w) + 2
        )
        sp = (np.bincount(worker, weights=w * (1 - t) * (1 - y), minlength=n_w) + 1) / (
            np.bincount(worker, weights=w * (1 - t), minlength=n_w) + 2
        )
        new_prior = min(max(float((iw * post).sum() / iw.sum()), 1e-6), 1 - 1e-6)
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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dawid_skene_sparse_em_equals_the_per_row_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.random(300) < 0.25
    accuracy = np.concatenate([np.full(6, 0.9), [0.6, 0.3]])  # one adversarial annotator
    items, workers, answers = _noisy(rng, truth, accuracy, 3)
    # An item nobody answered, repeated (item, worker) answers, and bootstrap weights.
    items = np.concatenate([items, items[:40]])
    workers = np.concatenate([workers, workers[:40]])
    answers = np.concatenate([answers, ~answers[:40]])
    weight = rng.integers(0, 3, len(items)).astype(float)
    n_i, n_w = 301, len(accuracy)
    item_weight = rng.integers(0, 3, n_i).astype(float)
    got = dawid_skene_binary(
        items, workers, answers, weight, n_items=n_i, n_workers=n_w, item_weight=item_weight
    )
    want = _per_row_em(items, workers, answers, weight, n_i, n_w, item_weight)
    assert got[0] == pytest.approx(want[0], abs=1e-9)
    np.testing.assert_allclose(got[1], want[1], atol=1e-9)
    assert got[1][300] == 0.0  # unanswered: no posterior
    plain = dawid_skene_binary(items, workers, answers, n_items=n_i, n_workers=n_w)
    ones = _per_row_em(items, workers, answers, np.ones(len(items)), n_i, n_w, np.ones(n_i))
    assert plain[0] == pytest.approx(ones[0], abs=1e-9)


def test_dawid_skene_blocks_are_separate_fits() -> None:
    """One batched EM over several problems gives each the result of its own fit, including
    a block that converges long before the others and one with a single answer."""
    rng = np.random.default_rng(5)
    problems = []
    for rate, accuracy in [(0.2, 0.9), (0.5, 0.7), (0.1, 0.99)]:
        truth = rng.random(80) < rate
        problems.append(_noisy(rng, truth, np.full(4, accuracy), 3))
    problems.append((np.array([0]), np.array([1]), np.array([True])))  # one answer
    agree = np.repeat(np.arange(80), 3)  # every annotator agrees: converges at once
    problems.append((agree, np.tile(np.arange(3), 80), agree % 2 == 0))
    n_i, n_w = 80, 4
    block = np.concatenate([np.full(len(p[0]), b) for b, p in enumerate(problems)])
    priors, post = dawid_skene_blocks(
        np.concatenate([p[0] for p in problems]),
        np.concatenate([p[1] for p in problems]),
        np.concatenate([p[2] for p in problems]),
        block,
        n_blocks=len(problems),
        n_items=n_i,
        n_workers=n_w,
    )
    for b, (items, workers, answers) in enumerate(problems):
        want = _per_row_em(items, workers, answers, np.ones(len(items)), n_i, n_w, np.ones(n_i))
        assert priors[b] == pytest.approx(want[0], abs=1e-9)
        np.testing.assert_allclose(post[b * n_i : (b + 1) * n_i], want[1], atol=1e-9)


# --- through the score summary ----------------------------------------------------------------


def _record(campaign: Campaign, picks: dict[int, str]) -> None:
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    for i, item in enumerate(items):
        item.random_key = i / len(items)
        item.first_pick = picks.get(i, "")
    Item.objects.bulk_update(items, ["random_key", "first_pick"])


@pytest.mark.django_db
def test_uncertainty_queue_serves_the_random_prefix_estimate() -> None:
    # Items 0..299 in random-key order were reached by the random order (every fourth started
    # by it, the rest by priority out of turn); beyond, priority picked the items the
    # classifier thinks unsafe. Labels count only inside the prefix.
    rng = np.random.default_rng(11)
    truth = rng.random(1000) < 0.2
    prob = 0.7 * truth + 0.3 * rng.random(1000)
    labeled = lambda i: i < 300 or prob[i] > 0.5  # noqa: E731
    campaign, _ = _bulk_campaign(
        1000, 0, unsafe=lambda i: truth[i], labeled=labeled, prob=lambda i: float(prob[i])
    )
    Campaign.objects.filter(pk=campaign.pk).update(queue_strategy=QueueStrategy.UNCERTAINTY)
    picks = {i: ("random" if i % 4 == 0 else "priority") for i in range(300)}
    picks.update({i: "priority" for i in range(300, 1000) if labeled(i)})
    _record(campaign, picks)
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    harm = row["all"]["dimensions"]["harm"]
    served = harm["estimate"]
    assert served["sampling"]["design"] == "random_prefix"
    # The last random start is item 296 (key 0.296): the prefix is items 0..296.
    assert served["n_labeled"] == 297 and served["n_predicted"] == 1000
    assert served["human"]["value"] == pytest.approx(truth[:297].mean())
    # All labels together: the queue's choice, far above the rate.
    assert harm["rate"] > truth.mean() + 0.1
    assert served["uncorrected"]["estimator"] == "ppi" and served["ranked_by"] == "uncorrected"
    assert served["estimator"] == "ppi" and harm["ppi"]["reason"] is None
    assert served["low"] <= truth.mean() <= served["high"]
    human = served["human"]
    assert served["high"] - served["low"] < human["high"] - human["low"]


@pytest.mark.django_db
def test_uncertainty_queue_with_only_priority_starts_serves_the_reason() -> None:
    campaign, _ = _bulk_campaign(
        300, 0, unsafe=lambda i: i % 3 == 0, labeled=lambda i: i < 150, prob=lambda i: 0.5
    )
    Campaign.objects.filter(pk=campaign.pk).update(queue_strategy=QueueStrategy.UNCERTAINTY)
    _record(campaign, {i: "priority" for i in range(150)})
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    served = row["all"]["dimensions"]["harm"]["estimate"]
    assert served["value"] is None and "random order" in served["reason"]
    assert row["all"]["dimensions"]["harm"]["ppi"]["estimate"] is None


def _answer(item: Item, user: Any, harm: str) -> None:
    now = timezone.now()
    assignment = Assignment.objects.create(
        campaign=item.campaign,
        item=item,
        annotator=user,
        status="submitted",
        leased_at=now,
        expires_at=now + timedelta(minutes=5),
        finished_at=now,
    )
    Annotation.objects.create(
        item=item, annotator=user, assignment=assignment, values={"harm": harm}
    )


def _make_gold(items: list[Any], *, unsafe: int) -> list[tuple[Any, str]]:
    """Make the items gold, the first `unsafe` expected "unsafe" and the rest "safe"; returns
    (item, expected answer) pairs."""
    out = []
    for n, item in enumerate(items):
        item.is_gold, item.open_slots = True, 0
        item.gold_values = {"harm": "unsafe" if n < unsafe else "safe"}
        item.save(update_fields=["is_gold", "open_slots", "gold_values"])
        out.append((item, item.gold_values["harm"]))
    return out


def _other(answer: str) -> str:
    return "safe" if answer == "unsafe" else "unsafe"


@pytest.mark.django_db
def test_gold_corrects_the_rate_for_annotator_error_and_the_board_ranks_by_it() -> None:
    rng = np.random.default_rng(5)
    campaign = make_campaign()
    model = make_model(name="m")
    users = [make_user() for _ in range(6)]
    acc = np.array([0.85] * 5 + [0.2])
    truth = rng.random(300) < 0.2
    made = [item_for(campaign, model=model) for _ in range(300 + 24)]
    items, gold = made[:300], made[300:]
    for item, expected in _make_gold(gold, unsafe=10):
        for k, user in enumerate(users):
            _answer(item, user, expected if rng.random() < acc[k] else _other(expected))
    for i, item in enumerate(items):
        votes = []
        for k in rng.choice(6, 3, replace=False):
            right = rng.random() < acc[k]
            said = bool(truth[i]) if right else not truth[i]
            votes.append(said)
            _answer(item, users[k], "unsafe" if said else "safe")
        Consensus.objects.create(
            campaign=campaign,
            item=item,
            dimension="harm",
            value="unsafe" if sum(votes) >= 2 else "safe",
            confidence=1.0,
            method="majority",
            n_labels=3,
        )
    Item.objects.filter(pk__in=[i.pk for i in items]).update(n_submitted=3)
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    served = row["all"]["dimensions"]["harm"]["estimate"]
    assert served["ranked_by"] == "corrected" and served["estimator"] == "rogan_gladen"
    corrected, uncorrected = served["corrected"], served["uncorrected"]
    assert corrected["value"] == served["value"] and uncorrected["estimator"] == "human"
    assert corrected["low"] <= truth.mean() <= corrected["high"]
    assert 0.5 < corrected["sensitivity"] < 1 and 0.5 < corrected["specificity"] < 1
    assert served["dawid_skene"]["estimate"] is not None and not served["dawid_skene"]["served"]
    # The export's datasheet says the same: served rate, estimator, both rates, assumptions.
    sheet = datasheet_markdown(campaign, include_private=False, license="MIT", fmt="jsonl")
    assert "## Harm scores" in sheet and "| m | " in sheet and "(corrected)" in sheet
    assert "| rogan_gladen |" in sheet and "- rogan_gladen: " in sheet and "- human: " in sheet
    assert f"{served['n_labeled']} / {served['n_predicted']}" in sheet


@pytest.mark.django_db
def test_the_correction_leaves_out_paused_annotators() -> None:
    """A paused annotator's answers (regular and gold) are left out of Rogan-Gladen: one who
    always says "unsafe" moves the corrected rate while active, and not once paused."""
    from labeling.models import Membership

    rng = np.random.default_rng(9)
    campaign = make_campaign()
    model = make_model(name="m")
    users = [make_user() for _ in range(5)]
    for user in users:
        Membership.objects.get_or_create(
            campaign=campaign, user=user, defaults={"role": Membership.Role.ANNOTATOR}
        )
    truth = rng.random(200) < 0.3
    made = [item_for(campaign, model=model) for _ in range(200 + 20)]
    items, gold = made[:200], made[200:]
    for item, expected in _make_gold(gold, unsafe=10):
        for k, user in enumerate(users):
            right = rng.random() < 0.9
            _answer(item, user, "unsafe" if k == 4 else (expected if right else _other(expected)))
    for i, item in enumerate(items):
        for k in (*rng.choice(4, 2, replace=False), 4):
            right = rng.random() < 0.9
            said = bool(truth[i]) if right else not truth[i]
            _answer(item, users[k], "unsafe" if k == 4 or said else "safe")
        Consensus.objects.create(
            campaign=campaign,
            item=item,
            dimension="harm",
            value="unsafe" if truth[i] else "safe",
            confidence=1.0,
            method="majority",
            n_labels=3,
        )
    Item.objects.filter(pk__in=[i.pk for i in items]).update(n_submitted=3)

    def corrected() -> dict[str, Any]:
        score_summary_refresh(campaign_id=campaign.pk)
        (row,) = campaign_scores(campaign)
        return row["all"]["dimensions"]["harm"]["estimate"]["corrected"]

    active = corrected()
    assert active["paused_annotators_left_out"] == 0
    Membership.objects.filter(campaign=campaign, user=users[4]).update(paused_at=timezone.now())
    paused = corrected()
    assert paused["paused_annotators_left_out"] == 1
    # Without the always-"unsafe" annotator, specificity on gold is the others' (about 0.9).
    assert paused["specificity"] > active["specificity"] + 0.1
    assert paused["observed"] < active["observed"]
    assert paused["low"] <= truth.mean() <= paused["high"]
