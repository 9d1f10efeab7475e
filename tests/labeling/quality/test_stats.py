"""The statistics under quality control, checked against the libraries and known answers."""

from __future__ import annotations

import random
from typing import Any

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from labeling.quality.stats.agreement import alpha_for, masi_distance, pairwise_kappa
from labeling.quality.stats.fit import fit_choice, fit_multi_choice, stable_method
from labeling.quality.stats.gold import gold_score
from labeling.quality.stats.votes import vote_choice, vote_spans
from labeling.rubric import default_rubric

CHOICE = {"name": "c", "type": "choice", "options": [{"value": v} for v in "abcd"]}
LIKERT = {"name": "l", "type": "likert", "min": 1, "max": 5}


def test_nominal_and_ordinal_alpha_match_krippendorff_on_its_own_example() -> None:
    # krippendorff's docstring example (Krippendorff 2011): missing ratings as nan.
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    units = {j: [int(row[j]) for row in data if not np.isnan(row[j])] for j in range(len(data[0]))}
    ordinal = alpha_for(LIKERT, units, samples=100)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert ordinal.alpha == pytest.approx(expected, abs=1e-12)
    assert ordinal.alpha is not None and round(ordinal.alpha, 3) == 0.815
    letters = {j: ["abcd"[v - 1] if v < 5 else "d" for v in a] for j, a in units.items()}
    nominal = alpha_for(CHOICE, letters, samples=100)
    coded = [[nan if np.isnan(v) else min(v, 4) for v in row] for row in data]
    direct = krippendorff.alpha(reliability_data=coded, level_of_measurement="nominal")
    assert nominal.alpha == pytest.approx(direct, abs=1e-12)
    assert nominal.alpha is not None and nominal.low is not None and nominal.high is not None
    assert nominal.low <= nominal.alpha <= nominal.high


def test_masi_distance() -> None:
    ab, a, c = frozenset("ab"), frozenset("a"), frozenset("c")
    assert masi_distance(ab, ab) == 0.0
    assert masi_distance(ab, a) == pytest.approx(1 - 0.5 * 2 / 3)
    assert masi_distance(frozenset("ab"), frozenset("bc")) == pytest.approx(1 - (1 / 3) * (1 / 3))
    assert masi_distance(a, c) == 1.0


def test_multi_choice_alpha_is_one_when_everyone_agrees_and_lower_with_partial_overlap() -> None:
    dim = {"name": "m", "type": "multi_choice", "options": [{"value": v} for v in "xyz"]}
    same = {i: [["x", "y"], ["x", "y"]] if i % 2 else [["z"], ["z"]] for i in range(20)}
    assert alpha_for(dim, same, samples=50).alpha == pytest.approx(1.0)
    partial = {i: [["x", "y"], ["x"]] if i % 2 else [["z"], ["z"]] for i in range(20)}
    result = alpha_for(dim, partial, samples=50)
    assert result.level == "masi" and result.alpha is not None and 0 < result.alpha < 1


def test_span_alpha_counts_characters() -> None:
    dim = {"name": "s", "type": "spans", "labels": [{"value": "t"}, {"value": "f"}]}
    texts = {0: "x" * 20, 1: "y" * 20}
    agree: dict[int, list[Any]] = {0: [[{"start": 2, "end": 8, "label": "t"}]] * 2, 1: [[], []]}
    assert alpha_for(dim, agree, texts, samples=50).alpha == pytest.approx(1.0)
    shifted = {0: [[{"start": 2, "end": 8, "label": "t"}], [{"start": 4, "end": 10, "label": "t"}]]}
    result = alpha_for(dim, {**shifted, 1: [[], []]}, texts, samples=50)
    assert result.n_units == 2 and result.alpha is not None and result.alpha < 1


def test_pairwise_kappa_matches_scikit_learn() -> None:
    rng = random.Random(4)
    labels = {a: {i: rng.choice("xyz") for i in range(60) if rng.random() < 0.8} for a in range(4)}
    pairs = pairwise_kappa(labels)
    assert len(pairs) == 6
    for p in pairs:
        common = sorted(set(labels[p["a"]]) & set(labels[p["b"]]))
        expected = cohen_kappa_score(
            [labels[p["a"]][i] for i in common], [labels[p["b"]][i] for i in common]
        )
        assert p["n"] == len(common) and p["kappa"] == pytest.approx(expected, abs=1e-12)


def _triples(seed: int = 1, n: int = 60) -> tuple[list[tuple[int, int, str]], dict[int, str]]:
    rng = random.Random(seed)
    truth = {t: rng.choice("ab") for t in range(n)}
    triples = []
    for t, true in truth.items():
        for w in range(4):
            right = rng.random() < (0.9 if w < 2 else 0.6)
            triples.append((t, w, true if right else ("b" if true == "a" else "a")))
    return triples, truth


@pytest.mark.parametrize("method", ["dawid_skene", "one_coin", "glad", "mace", "wawa", "majority"])
def test_every_crowd_kit_method_gives_a_posterior_per_item(method: str) -> None:
    triples, truth = _triples()
    fit = fit_choice(triples, ["a", "b"], method, {})
    assert fit.method == method and set(fit.votes) == set(truth)
    hits = sum(fit.votes[t].value == v for t, v in truth.items()) / len(truth)
    assert hits >= 0.8
    for vote in fit.votes.values():
        assert vote.posterior is not None and sum(vote.posterior.values()) == pytest.approx(1)
        assert vote.confidence == pytest.approx(vote.posterior[vote.value])
        assert vote.n_labels == 4
    # The Dawid-Skene family estimates a confusion matrix per annotator.
    assert bool(fit.confusion) == (method in ("dawid_skene", "one_coin"))


def test_dawid_skene_takes_gold_as_known_truth() -> None:
    triples, _ = _triples()
    # Every annotator says "a" on item 0, but its gold says "b".
    triples = [(t, w, "a" if t == 0 else v) for t, w, v in triples]
    fit = fit_choice(triples, ["a", "b"], "dawid_skene", {0: "b"})
    assert fit.votes[0].value == "b" and fit.votes[0].confidence == pytest.approx(1.0)
    assert fit_choice(triples, ["a", "b"], "dawid_skene", {}).votes[0].value == "a"


def test_too_few_labels_per_annotator_fall_back_to_weighted_majority() -> None:
    few = [(0, 0, "a"), (0, 1, "a"), (1, 0, "b"), (1, 1, "a")]
    assert stable_method("dawid_skene", few, 2) == "wawa"
    assert stable_method("dawid_skene", few * 2, 2) == "dawid_skene"
    assert stable_method("majority", few, 2) == "majority"


def test_multi_choice_binary_relevance() -> None:
    rng = random.Random(2)
    triples = []
    for t in range(40):
        for w in range(3):
            chosen = ["x"] + (["y"] if t % 2 else []) + (["z"] if rng.random() < 0.1 else [])
            triples.append((t, w, chosen))
    fit = fit_multi_choice(triples, ["x", "y", "z"], "majority", {})
    assert fit.votes[1].value == ["x", "y"] and fit.votes[0].value == ["x"]
    assert fit.votes[0].method == "binary_relevance"
    assert set(fit.votes[0].posterior or {}) == {"x", "y", "z"}


def test_votes_break_ties_by_rubric_order_and_spans_need_a_strict_majority() -> None:
    assert vote_choice(["b", "a"], ["a", "b"]).value == "a"
    two = [[{"start": 0, "end": 4, "label": "t"}], []]
    assert vote_spans(two, "abcdef").value == []  # one of two is no majority
    three = [*two, [{"start": 2, "end": 6, "label": "t"}]]
    assert vote_spans(three, "abcdef").value == [{"start": 2, "end": 4, "label": "t", "text": "cd"}]


def test_gold_scoring() -> None:
    schema: Any = default_rubric()
    expected = {
        "harm": "unsafe",
        "fluency": 4,
        "harmful_spans": [{"start": 0, "end": 10, "label": "toxic"}],
    }
    near = {
        "harm": "unsafe",
        "fluency": 5,
        "harmful_spans": [{"start": 1, "end": 10, "label": "toxic"}],
    }
    assert gold_score(schema, near, expected) == (True, 1.0)
    wrong = {"harm": "safe", "fluency": 2, "harmful_spans": []}
    assert gold_score(schema, wrong, expected) == (False, 0.0)
    assert gold_score(schema, {**near, "harm": "safe"}, expected) == (False, pytest.approx(2 / 3))
