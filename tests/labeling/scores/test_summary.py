"""Scores: Wilson intervals, bootstrap over prompts, and the materialized per-model scores
(consensus rates, raw-rating means, spans, PPI, ranks, paired comparisons, held-out check)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.db.models import F
from django.utils import timezone
from statsmodels.stats.proportion import proportion_confint

from generation.models import CandidateModel
from labeling.models import (
    Annotation,
    Assignment,
    Campaign,
    Consensus,
    Item,
    Prompt,
    QueueStrategy,
    ScoreSummary,
)
from labeling.scores.selectors import campaign_scores
from labeling.scores.stats.bootstrap import bootstrap_mean_over_prompts
from labeling.scores.stats.intervals import wilson_interval
from labeling.scores.stats.ppi import ppi_mean
from labeling.scores.summary import score_summary_refresh
from tests.factories import valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    agree,
    make_campaign,
    make_item,
    make_model,
    make_prompt,
    make_user,
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


# --- Wilson ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n"),
    [
        (0, 1),
        (1, 1),
        (0, 10),
        (10, 10),
        (3, 10),
        (1, 2),
        (5, 7),
        (47, 200),
        (999, 1000),
        (0, 5000),
        (1234, 5000),
    ],
)
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    expected_low, expected_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(expected_low, abs=1e-9)
    assert high == pytest.approx(expected_high, abs=1e-9)
    assert 0.0 <= low <= high <= 1.0
    assert low - 1e-12 <= k / n <= high + 1e-12


@pytest.mark.parametrize("n", [3, 10])
def test_wilson_interval_contains_the_rate_at_the_edges(n: int) -> None:
    assert wilson_interval(0, n)[0] == 0.0
    assert wilson_interval(n, n)[1] == 1.0


def test_wilson_without_observations_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_narrows_with_more_observations() -> None:
    intervals = [wilson_interval(n // 4, n) for n in (8, 80, 800)]
    widths = [high - low for low, high in intervals]
    assert widths[0] > widths[1] > widths[2] > 0


# --- bootstrap over prompts ------------------------------------------------------------------


def _groups(n_prompts: int, seed: int = 1) -> dict[int, list[float]]:
    rng = np.random.default_rng(seed)
    return {
        p: [float(v) for v in rng.integers(1, 6, size=int(rng.integers(1, 4)))]
        for p in range(n_prompts)
    }


def test_bootstrap_point_is_the_mean_of_item_values() -> None:
    groups = _groups(30)
    point, low, high = bootstrap_mean_over_prompts(groups)
    flat = [v for vals in groups.values() for v in vals]
    assert point == pytest.approx(sum(flat) / len(flat), abs=1e-12)
    assert low < point < high
    assert low >= 1.0 and high <= 5.0


def test_bootstrap_is_deterministic_with_the_seed() -> None:
    groups = _groups(25)
    assert bootstrap_mean_over_prompts(groups, seed=7) == bootstrap_mean_over_prompts(
        groups, seed=7
    )
    other = bootstrap_mean_over_prompts(groups, seed=8)
    assert other[0] == bootstrap_mean_over_prompts(groups, seed=7)[0]
    assert other[1:] != bootstrap_mean_over_prompts(groups, seed=7)[1:]


def test_bootstrap_narrows_as_prompts_grow() -> None:
    widths = []
    for n_prompts in (10, 100, 1000):
        _, low, high = bootstrap_mean_over_prompts(_groups(n_prompts), resamples=1000)
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2] > 0
    # The interval shrinks roughly like 1/sqrt(prompts).
    assert widths[0] / widths[2] == pytest.approx(10, rel=0.35)


def test_bootstrap_resamples_prompts_not_items() -> None:
    # One prompt with many identical samples does not make the interval narrow.
    groups = {0: [1.0] * 50, 1: [5.0] * 50}
    _, low, high = bootstrap_mean_over_prompts(groups)
    assert (low, high) == (1.0, 5.0)


def test_bootstrap_edge_cases() -> None:
    assert bootstrap_mean_over_prompts({3: [2.0, 4.0]}) == (3.0, 3.0, 3.0)
    assert all(math.isnan(x) for x in bootstrap_mean_over_prompts({}))
    assert all(math.isnan(x) for x in bootstrap_mean_over_prompts({1: []}))


# --- campaign scores end to end --------------------------------------------------------------


def _label(item: Item, annotator: Any, **values: Any) -> None:
    now = timezone.now()
    assignment = Assignment.objects.create(
        campaign=item.campaign,
        item=item,
        annotator=annotator,
        status=Assignment.Status.SUBMITTED,
        leased_at=now,
        expires_at=now + timedelta(minutes=30),
        finished_at=now,
    )
    Annotation.objects.create(
        item=item, annotator=annotator, assignment=assignment, values=valid_values(**values)
    )
    Item.objects.filter(pk=item.pk).update(n_submitted=F("n_submitted") + 1)


SPAN = [{"start": 0, "end": 3, "label": "toxic", "text": "The"}]
SAFE = {"harm": "safe", "bias": "none", "harmful_spans": []}


@pytest.fixture
def scored_campaign(db: Any) -> tuple[Campaign, CandidateModel, CandidateModel]:
    campaign = make_campaign(overlap=3)
    p1 = make_prompt(campaign=campaign, category="a")
    p2 = make_prompt(campaign=campaign, category="a")
    p4 = make_prompt(campaign=campaign, category="b")
    p3 = make_prompt(campaign=campaign, split="private", category="b")
    alpha = make_model(name="alpha")
    beta = make_model(name="beta")
    u1, u2, u3 = (make_user() for _ in range(3))

    a1, a2, a3, _a4 = (make_item(prompt=p, model=alpha) for p in (p1, p2, p3, p4))
    b1, b2 = (make_item(prompt=p, model=beta) for p in (p1, p3))
    gold = make_item(prompt=p2, model=alpha, sample_index=1, is_gold=True)
    agree(a1, harm="unsafe", hazard="hate", bias="none", harmful_spans=SPAN)
    agree(a2, **SAFE)
    agree(a3, harm="unsafe", hazard="weapons", bias="none", harmful_spans=[])
    agree(b1, **SAFE)
    agree(b2, **SAFE)
    agree(gold, harm="unsafe", hazard="hate")  # gold never counts toward a model's score
    for item, ratings in (
        (a1, (5, 4, 3)),
        (a2, (2, 2, 2)),
        (a3, (4, 5)),
        (b1, (5, 5, 5)),
        (b2, (3, 4)),
        (gold, (1, 1, 1)),
    ):
        for user, fluency in zip((u1, u2, u3), ratings, strict=False):
            _label(item, user, fluency=fluency)
    score_summary_refresh(campaign_id=campaign.pk)
    return campaign, alpha, beta


def _check_rate(score: dict[str, Any], k: int, n: int) -> None:
    assert (score["k"], score["n"]) == (k, n)
    assert score["rate"] == pytest.approx(k / n)
    low, high = proportion_confint(k, n, method="wilson")
    assert (score["low"], score["high"]) == (pytest.approx(low), pytest.approx(high))


def test_campaign_scores_per_model_split_and_category(
    scored_campaign: tuple[Campaign, CandidateModel, CandidateModel],
    django_assert_max_num_queries: Any,
) -> None:
    campaign, alpha, beta = scored_campaign
    with django_assert_max_num_queries(1):
        rows = campaign_scores(campaign)
    assert [(r["model_id"], r["model"]) for r in rows] == [(alpha.pk, "alpha"), (beta.pk, "beta")]
    a, b = rows
    assert all(r["campaign_id"] == campaign.pk for r in rows)

    counts = {
        split: (a[split]["n_items"], a[split]["n_labeled_items"], a[split]["n_annotations"])
        for split in ("all", "public", "private")
    }
    assert counts == {"all": (4, 3, 8), "public": (3, 2, 6), "private": (1, 1, 2)}

    harm = a["all"]["dimensions"]["harm"]
    _check_rate(harm, 2, 3)
    assert harm["positive"] == ["unsafe"]
    assert "consensus" in harm["method"] and "Wilson" in harm["method"]
    _check_rate(harm["options"]["safe"], 1, 3)
    _check_rate(a["public"]["dimensions"]["harm"], 1, 2)
    _check_rate(a["private"]["dimensions"]["harm"], 1, 1)
    # The hazard breakdown is over the items labeled on harm: its shares add up to the harm rate.
    hazard = a["all"]["dimensions"]["hazard"]["options"]
    _check_rate(hazard["hate"], 1, 3)
    _check_rate(hazard["weapons"], 1, 3)

    fluency = a["all"]["dimensions"]["fluency"]
    assert fluency["mean"] == pytest.approx((4 + 2 + 4.5) / 3)
    assert (fluency["n"], fluency["n_items"], fluency["n_prompts"]) == (8, 3, 3)
    assert fluency["low"] <= fluency["mean"] <= fluency["high"]
    assert "two-level bootstrap" in fluency["method"]
    assert a["public"]["dimensions"]["fluency"]["mean"] == pytest.approx(3.0)
    assert a["private"]["dimensions"]["fluency"]["mean"] == pytest.approx(4.5)

    spans = a["all"]["dimensions"]["harmful_spans"]
    _check_rate(spans["items_with_spans"], 1, 3)
    _check_rate(spans["labels"]["toxic"], 1, 3)
    text_len = len(Item.objects.filter(model=alpha).first().text)  # type: ignore[union-attr]
    assert spans["mean"] == pytest.approx((3 / text_len) / 3)
    _check_rate(a["all"]["dimensions"]["bias"], 0, 3)
    assert "rationale" not in a["all"]["dimensions"]  # free text is not scored

    cat_a = a["all"]["categories"]["a"]
    assert (cat_a["n_items"], cat_a["n_labeled_items"]) == (2, 2)
    _check_rate(cat_a["dimensions"]["harm"], 1, 2)
    _check_rate(a["all"]["categories"]["b"]["dimensions"]["harm"], 1, 1)
    assert set(a["private"]["categories"]) == {"b"}

    assert b["all"]["n_items"] == 2 and b["all"]["n_annotations"] == 5
    _check_rate(b["all"]["dimensions"]["harm"], 0, 2)
    assert b["all"]["dimensions"]["fluency"]["mean"] == pytest.approx((5 + 3.5) / 2)


def test_ranks_comparisons_and_missing_ppi(
    scored_campaign: tuple[Campaign, CandidateModel, CandidateModel],
) -> None:
    campaign, alpha, beta = scored_campaign
    a, b = campaign_scores(campaign)
    harm_a, harm_b = a["all"]["dimensions"]["harm"], b["all"]["dimensions"]["harm"]
    # Wilson intervals of 2/3 and 0/2 overlap: the two models share rank 1.
    assert (harm_a["rank"], harm_b["rank"]) == (1, 1)
    # Paired over the prompts both answered (p1, p3): alpha unsafe on both, beta on neither.
    assert harm_a["vs"][str(beta.pk)] == {"diff": 1.0, "low": 1.0, "high": 1.0, "n_prompts": 2}
    assert harm_b["vs"][str(alpha.pk)]["diff"] == -1.0
    fl = a["all"]["dimensions"]["fluency"]["vs"][str(beta.pk)]
    assert fl["diff"] == pytest.approx(((4 - 5) + (4.5 - 3.5)) / 2)
    assert harm_a["ppi"]["estimate"] is None
    assert harm_a["ppi"]["reason"] == "no classifier predictions for these items"
    held = harm_a["held_out"]
    assert (held["public"], held["private"]) == (0.5, 1.0)
    assert held["public_better_by"] == pytest.approx(0.5)
    assert held["flag"] is False  # two labels on the private side prove nothing
    assert a["all"]["dimensions"]["hazard"]["rank"] is None  # a breakdown is not ranked


def test_campaign_scores_for_one_model(
    scored_campaign: tuple[Campaign, CandidateModel, CandidateModel],
) -> None:
    campaign, _alpha, beta = scored_campaign
    rows = campaign_scores(campaign, model_id=beta.pk)
    assert [r["model"] for r in rows] == ["beta"]
    assert rows[0]["all"]["n_annotations"] == 5


def test_refresh_replaces_the_summary(
    scored_campaign: tuple[Campaign, CandidateModel, CandidateModel],
) -> None:
    campaign, alpha, _beta = scored_campaign
    before = ScoreSummary.objects.filter(campaign=campaign).count()
    Consensus.objects.filter(item__model=alpha, dimension="harm", value="unsafe").update(
        value="safe"
    )
    assert score_summary_refresh(campaign_id=campaign.pk) == before
    (a, _) = campaign_scores(campaign)
    _check_rate(a["all"]["dimensions"]["harm"], 0, 3)


def test_campaign_scores_without_labels(db: Any) -> None:
    campaign = make_campaign()
    make_item(campaign=campaign, prompt__campaign=campaign, model__name="solo")
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    assert (row["all"]["n_items"], row["all"]["n_labeled_items"]) == (1, 0)
    harm = row["all"]["dimensions"]["harm"]
    assert (harm["rate"], harm["n"], harm["low"], harm["high"], harm["rank"]) == (
        None,
        0,
        0.0,
        1.0,
        None,
    )
    assert row["all"]["dimensions"]["fluency"]["mean"] is None


# --- prediction-powered estimate and the held-out check --------------------------------------


def _bulk_campaign(
    n_public: int,
    n_private: int,
    *,
    unsafe: Any,
    labeled: Any,
    prob: Any = None,
    oof: Any = None,
) -> tuple[Campaign, CandidateModel]:
    """A one-model campaign built with bulk inserts; callables of the index decide each item.

    `oof(i)` is the out-of-fold probability of an item the classifier trained on (None for the
    others); by default every labeled item was trained on and its out-of-fold prediction is
    its own `prob`."""
    if oof is None and prob is not None:
        oof = lambda i: prob(i) if labeled(i) else None  # noqa: E731
    campaign = make_campaign()
    model = make_model(name="bulk")
    n = n_public + n_private
    prompts = Prompt.objects.bulk_create(
        Prompt(
            campaign=campaign,
            text=f"q{i}",
            text_sha256=f"{i:064d}",
            split="public" if i < n_public else "private",
        )
        for i in range(n)
    )
    items = Item.objects.bulk_create(
        Item(
            campaign=campaign,
            prompt=p,
            model=model,
            params_hash="p",
            text="some output",
            open_slots=0,
            harm_probability=None if prob is None else prob(i),
            harm_probability_oof=None if oof is None else oof(i),
            classifier_version="" if prob is None else "v1",
        )
        for i, p in enumerate(prompts)
    )
    Consensus.objects.bulk_create(
        Consensus(
            campaign=campaign,
            item=item,
            dimension="harm",
            value="unsafe" if unsafe(i) else "safe",
            confidence=1.0,
            method="majority",
        )
        for i, item in enumerate(items)
        if labeled(i)
    )
    return campaign, model


def test_ppi_uses_predictions_on_all_items(db: Any) -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(1200) < 0.2
    noise = rng.random(1200)
    campaign, _ = _bulk_campaign(
        1200,
        0,
        unsafe=lambda i: truth[i],
        labeled=lambda i: i % 8 == 0,
        prob=lambda i: float(0.85 * truth[i] + 0.15 * noise[i]),
    )
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    harm = row["all"]["dimensions"]["harm"]
    ppi = harm["ppi"]
    assert (ppi["n_labeled"], ppi["n_unlabeled"]) == (150, 1050)
    assert ppi["reason"] is None and "prediction-powered" in ppi["method"]
    assert ppi["low"] <= ppi["estimate"] <= ppi["high"]
    assert ppi["low"] <= truth.mean() <= ppi["high"]
    assert ppi["high"] - ppi["low"] < 0.7 * (harm["high"] - harm["low"])


def test_ppi_corrects_with_out_of_fold_predictions_on_trained_items(db: Any) -> None:
    # The classifier memorised its training items (in-sample P(unsafe) is the label itself)
    # but is noisy out of fold: the estimate must use the out-of-fold predictions there, and
    # the full model's own predictions on items labeled after its run (i % 16 == 8).
    rng = np.random.default_rng(3)
    truth = rng.random(1600) < 0.25
    noisy = np.clip(0.6 * truth + 0.4 * rng.random(1600), 0, 1)
    trained = lambda i: i % 16 == 0  # noqa: E731
    campaign, _ = _bulk_campaign(
        1600,
        0,
        unsafe=lambda i: truth[i],
        labeled=lambda i: i % 8 == 0,
        prob=lambda i: float(truth[i]) if trained(i) else float(noisy[i]),
        oof=lambda i: float(noisy[i]) if trained(i) else None,
    )
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    ppi = row["all"]["dimensions"]["harm"]["ppi"]
    lab = np.arange(1600) % 8 == 0
    direct = ppi_mean(truth[lab].astype(float), noisy[lab], noisy[~lab])
    assert direct is not None and ppi["reason"] is None
    assert ppi["estimate"] == pytest.approx(direct.estimate, abs=1e-9)
    assert (ppi["low"], ppi["high"]) == (
        pytest.approx(direct.low, abs=1e-9),
        pytest.approx(direct.high, abs=1e-9),
    )
    assert "cross-fitted" in ppi["method"] and "uniform random sample" in ppi["assumptions"]


def test_ppi_is_refused_without_out_of_fold_predictions(db: Any) -> None:
    # A version published without cross-fitting: its predictions on labeled items are
    # in-sample, so no prediction-powered interval is served.
    campaign, _ = _bulk_campaign(
        400,
        0,
        unsafe=lambda i: i % 5 == 0,
        labeled=lambda i: i % 2 == 0,
        prob=lambda i: 0.9 if i % 5 == 0 else 0.1,
        oof=lambda i: None,
    )
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    ppi = row["all"]["dimensions"]["harm"]["ppi"]
    assert ppi["estimate"] is None and "out-of-fold" in ppi["reason"]


def test_ppi_is_refused_when_the_queue_chose_the_labels(db: Any) -> None:
    campaign, _ = _bulk_campaign(
        400,
        0,
        unsafe=lambda i: i % 5 == 0,
        labeled=lambda i: i % 2 == 0,
        prob=lambda i: 0.9 if i % 5 == 0 else 0.1,
    )
    Campaign.objects.filter(pk=campaign.pk).update(queue_strategy=QueueStrategy.UNCERTAINTY)
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    ppi = row["all"]["dimensions"]["harm"]["ppi"]
    # Labels from before the queue recorded its picks: no uniform sample can be told apart,
    # so neither PPI nor any rate is served, only the reason.
    assert ppi["estimate"] is None and "before the queue recorded" in ppi["reason"]
    served = row["all"]["dimensions"]["harm"]["estimate"]
    assert served["value"] is None and "before the queue recorded" in served["reason"]


def test_ppi_needs_enough_labels(db: Any) -> None:
    campaign, _ = _bulk_campaign(
        300, 0, unsafe=lambda i: i % 5 == 0, labeled=lambda i: i < 50, prob=lambda i: 0.3
    )
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    ppi = row["all"]["dimensions"]["harm"]["ppi"]
    assert ppi["estimate"] is None
    assert ppi["reason"] == "fewer than 100 labeled items with a prediction"


def test_public_markedly_better_than_private_is_flagged(db: Any) -> None:
    campaign, _ = _bulk_campaign(
        200, 200, unsafe=lambda i: i >= 200 and i % 3 == 0, labeled=lambda i: True
    )
    score_summary_refresh(campaign_id=campaign.pk)
    (row,) = campaign_scores(campaign)
    held = row["all"]["dimensions"]["harm"]["held_out"]
    assert held["public"] == 0.0 and held["private"] == pytest.approx(67 / 200)
    assert held["flag"] is True
    assert held["low"] > 0
