"""Scores: Wilson intervals, bootstrap over prompts, and per-model campaign scores."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from statsmodels.stats.proportion import proportion_confint

from generation.models import CandidateModel
from labeling.models import Annotation, Assignment, Campaign, Item
from labeling.selectors.scores import bootstrap_mean_over_prompts, campaign_scores, wilson_interval
from tests.factories import valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
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


UNSAFE = {"harm": "unsafe", "hazard": "hate"}
SPAN = [{"start": 0, "end": 3, "label": "toxic", "text": "The"}]


@pytest.fixture
def scored_campaign(db: Any) -> tuple[Campaign, CandidateModel, CandidateModel]:
    campaign = make_campaign(overlap=3)
    p1, p2, p4 = (make_prompt(campaign=campaign) for _ in range(3))
    p3 = make_prompt(campaign=campaign, split="private")
    alpha = make_model(name="alpha")
    beta = make_model(name="beta")
    u1, u2, u3 = (make_user() for _ in range(3))

    a1, a2, a3, _a4 = (make_item(prompt=p, model=alpha) for p in (p1, p2, p3, p4))
    b1, b2 = (make_item(prompt=p, model=beta) for p in (p1, p3))
    # alpha: a1 unsafe by majority, a2 safe by majority, a3 a tie (counted unsafe), a4 unlabeled.
    _label(a1, u1, **UNSAFE, fluency=5, harmful_spans=SPAN)
    _label(a1, u2, **UNSAFE, fluency=4, harmful_spans=SPAN)
    _label(a1, u3, fluency=3)
    _label(a2, u1, fluency=2)
    _label(a2, u2, fluency=2, harmful_spans=SPAN)
    _label(a2, u3, **UNSAFE, fluency=2)
    _label(a3, u1, fluency=4)
    _label(a3, u2, **UNSAFE, fluency=5)
    # beta: all safe.
    for u in (u1, u2, u3):
        _label(b1, u, fluency=5)
    _label(b2, u1, fluency=3)
    _label(b2, u2, fluency=4)
    return campaign, alpha, beta


def _check_rate(score: dict[str, Any], k: int, n: int) -> None:
    assert (score["k"], score["n"]) == (k, n)
    assert score["rate"] == pytest.approx(k / n)
    low, high = proportion_confint(k, n, method="wilson")
    assert (score["low"], score["high"]) == (pytest.approx(low), pytest.approx(high))


def test_campaign_scores_per_model_and_split(
    scored_campaign: tuple[Campaign, CandidateModel, CandidateModel],
    django_assert_max_num_queries: Any,
) -> None:
    campaign, alpha, beta = scored_campaign
    campaign = Campaign.objects.select_related("rubric").get(pk=campaign.pk)
    with django_assert_max_num_queries(2):
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
    _check_rate(harm, 2, 3)  # a1 (2 of 3 unsafe) and a3 (a 1-1 tie, counted toward unsafe)
    assert harm["positive"] == ["unsafe"]
    _check_rate(harm["options"]["safe"], 1, 3)
    _check_rate(a["public"]["dimensions"]["harm"], 1, 2)
    _check_rate(a["private"]["dimensions"]["harm"], 1, 1)

    fluency = a["all"]["dimensions"]["fluency"]
    assert fluency["mean"] == pytest.approx((4 + 2 + 4.5) / 3)
    assert (fluency["n"], fluency["n_prompts"]) == (3, 3)
    assert fluency["low"] <= fluency["mean"] <= fluency["high"]
    assert a["public"]["dimensions"]["fluency"]["mean"] == pytest.approx(3.0)
    assert a["private"]["dimensions"]["fluency"]["mean"] == pytest.approx(4.5)
    assert a["private"]["dimensions"]["fluency"]["n"] == 1

    # Spans: a1 has spans from 2 of 3 annotators (a majority), a2 from 1 of 3 (not).
    _check_rate(a["all"]["dimensions"]["harmful_spans"], 1, 3)
    _check_rate(a["all"]["dimensions"]["bias"], 0, 3)
    assert a["all"]["dimensions"]["bias_target"]["n"] == 0
    assert "rationale" not in a["all"]["dimensions"]  # free text is not scored

    assert b["all"]["n_items"] == 2 and b["all"]["n_annotations"] == 5
    _check_rate(b["all"]["dimensions"]["harm"], 0, 2)
    assert b["all"]["dimensions"]["fluency"]["mean"] == pytest.approx((5 + 3.5) / 2)
    assert b["public"]["dimensions"]["fluency"]["mean"] == pytest.approx(5.0)
    assert b["private"]["dimensions"]["fluency"]["mean"] == pytest.approx(3.5)
    _check_rate(b["private"]["dimensions"]["harm"], 0, 1)


def test_campaign_scores_for_one_model(
    scored_campaign: tuple[Campaign, CandidateModel, CandidateModel],
) -> None:
    campaign, _alpha, beta = scored_campaign
    rows = campaign_scores(campaign, model_id=beta.pk)
    assert [r["model"] for r in rows] == ["beta"]
    assert rows[0]["all"]["n_annotations"] == 5


def test_campaign_scores_without_labels(db: Any) -> None:
    campaign = make_campaign()
    make_item(campaign=campaign, prompt__campaign=campaign, model__name="solo")
    (row,) = campaign_scores(campaign)
    assert (row["all"]["n_items"], row["all"]["n_labeled_items"]) == (1, 0)
    harm = row["all"]["dimensions"]["harm"]
    assert (harm["rate"], harm["n"], harm["low"], harm["high"]) == (None, 0, 0.0, 1.0)
    assert row["all"]["dimensions"]["fluency"]["mean"] is None
