"""Fitting consensus over a whole campaign with crowd-kit (worker side: imports pandas).

Inputs are plain triples ``(item_id, worker_id, answer)``; outputs are ``Vote``s per item.
Categorical dimensions use the campaign's crowd-kit method, falling back to weighted majority
(Wawa) while annotators have too few labels for a confusion-matrix model to be stable (Toloka's
advice: fewer than L² labels each, L the number of values). Multi-choice is binary relevance:
one binary fit per option.
"""

from __future__ import annotations

import statistics
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labeling.quality.stats.votes import Vote, vote_likert, vote_spans

Triple = tuple[int, int, Any]

CONFUSION_METHODS = ("dawid_skene", "one_coin", "glad", "mace")
# crowd-kit stops when the per-label evidence bound gains less than this. Its default (1e-5)
# takes ~60 EM rounds on 100k labels; 1e-4 takes ~35 and moves accuracy by < 0.1 point
# (bench/quality_scale.py), keeping a 100k-label refit well inside its 10 s budget.
DS_TOL = 1e-4


@dataclass
class DimensionFit:
    votes: dict[int, Vote]
    method: str
    # Dawid-Skene's per-annotator confusion matrices: {worker: {true: {given: p}}}.
    confusion: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)


def _aggregator(method: str) -> Any:
    from crowdkit import aggregation as agg

    makers: dict[str, Any] = {
        "dawid_skene": lambda: agg.DawidSkene(n_iter=100, tol=DS_TOL),
        "one_coin": lambda: agg.OneCoinDawidSkene(n_iter=100),
        "glad": lambda: agg.GLAD(n_iter=100),
        "mace": lambda: agg.MACE(n_iter=50, random_state=0),
        "wawa": agg.Wawa,
        "majority": agg.MajorityVote,
    }
    return makers[method]()


def stable_method(method: str, triples: Sequence[Triple], n_values: int) -> str:
    """The asked method, or weighted majority while the median annotator has < L² labels."""
    if method not in CONFUSION_METHODS:
        return method
    per_worker: dict[int, int] = defaultdict(int)
    for _, worker, _ in triples:
        per_worker[worker] += 1
    if not per_worker or statistics.median(per_worker.values()) < n_values**2:
        return "wawa"
    return method


def _frame(triples: Sequence[Triple], codes: Mapping[Any, int]) -> Any:
    """The crowd-kit frame, labels as small integers: pandas joins on them far faster."""
    import numpy as np
    import pandas as pd

    tasks, workers, labels = zip(*triples, strict=True)
    return pd.DataFrame(
        {
            "task": np.asarray(tasks, dtype=np.int64),
            "worker": np.asarray(workers, dtype=np.int64),
            "label": np.asarray([codes[v] for v in labels], dtype=np.int64),
        }
    )


def _proba(method: str, triples: Sequence[Triple], gold: Mapping[int, Any]) -> tuple[Any, Any]:
    """(probabilities, a row per task and a column per label; the fitted aggregator)."""
    labels = sorted({v for _, _, v in triples} | set(gold.values()))
    codes = {v: i for i, v in enumerate(labels)}
    data = _frame(triples, codes)
    model = _aggregator(method)
    with warnings.catch_warnings():
        # crowd-kit 1.4 still passes pandas keywords that pandas 3 deprecates (inplace, copy).
        warnings.filterwarnings("ignore", module=r"crowdkit\.")
        proba = _fit_proba(method, model, data, gold, codes)
    assert proba is not None, f"{method} gave no probabilities"
    proba.columns = [labels[int(c)] for c in proba.columns]
    return proba, (model, labels)


def _fit_proba(
    method: str, model: Any, data: Any, gold: Mapping[int, Any], codes: Mapping[Any, int]
) -> Any:
    import pandas as pd

    if method == "wawa":
        # crowd-kit 1.4's Wawa.predict_proba fails its fitted-check under scikit-learn >= 1.6;
        # its fit (skills = agreement with the majority) works, and the weighted vote is
        # MajorityVote with those skills, which is what Wawa's predict_proba computes.
        from crowdkit.aggregation import MajorityVote

        model.fit(data)
        return MajorityVote().fit(data, skills=model.skills_).probas_
    if method == "dawid_skene" and gold:
        tasks = set(data["task"])
        known = pd.Series({t: codes[v] for t, v in gold.items() if t in tasks}, dtype="int64")
        model.fit(data, true_labels=known if len(known) else None)
        return model.probas_
    return model.fit_predict_proba(data)


def _votes_from_proba(
    proba: Any, options: Sequence[str], method: str, counts: Mapping[int, int]
) -> dict[int, Vote]:
    rank = {o: i for i, o in enumerate(options)}
    columns = sorted(proba.columns, key=lambda c: rank.get(c, len(rank)))
    proba = proba[columns].fillna(0.0)
    votes: dict[int, Vote] = {}
    for task, row in zip(proba.index, proba.to_numpy(), strict=True):
        best = int(row.argmax())  # first maximum: ties go to the earlier option
        posterior = {str(c): float(p) for c, p in zip(columns, row, strict=True)}
        votes[int(task)] = Vote(
            columns[best], float(row[best]), posterior, method, counts.get(int(task), 0)
        )
    return votes


def _confusion(fitted: Any) -> dict[int, dict[str, dict[str, float]]]:
    """Dawid-Skene's errors_ (rows: worker, given label; columns: true label) as nested dicts."""
    model, labels = fitted
    errors = getattr(model, "errors_", None)
    if errors is None or not hasattr(errors, "index") or errors.index.nlevels != 2:
        return {}
    out: dict[int, dict[str, dict[str, float]]] = {}
    for (worker, given), row in errors.iterrows():
        for true, p in row.items():
            true_label, given_label = str(labels[int(true)]), str(labels[int(given)])
            out.setdefault(int(worker), {}).setdefault(true_label, {})[given_label] = float(p)
    return out


def _counts(triples: Iterable[Triple]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for task, _, _ in triples:
        counts[task] += 1
    return counts


def fit_choice(
    triples: Sequence[Triple], options: Sequence[str], method: str, gold: Mapping[int, Any]
) -> DimensionFit:
    if not triples:
        return DimensionFit({}, method)
    used = stable_method(method, triples, len(options))
    proba, model = _proba(used, triples, gold)
    votes = _votes_from_proba(proba, options, used, _counts(triples))
    return DimensionFit(votes, used, _confusion(model))


def fit_multi_choice(
    triples: Sequence[Triple], options: Sequence[str], method: str, gold: Mapping[int, Any]
) -> DimensionFit:
    """Binary relevance: each option is a yes/no question fitted on its own."""
    if not triples:
        return DimensionFit({}, method)
    shares: dict[int, dict[str, float]] = defaultdict(dict)
    used = method
    for option in options:
        binary = [(t, w, "yes" if option in a else "no") for t, w, a in triples]
        bgold = {t: "yes" if option in a else "no" for t, a in gold.items()}
        used = stable_method(method, binary, 2)
        proba, _ = _proba(used, binary, bgold)
        yes = proba["yes"] if "yes" in proba.columns else proba.iloc[:, 0] * 0.0
        for task, p in zip(proba.index, yes.fillna(0.0).to_numpy(), strict=True):
            shares[int(task)][option] = float(p)
    counts = _counts(triples)
    votes = {}
    for task, p in shares.items():
        chosen = [o for o in options if p[o] > 0.5]
        touched = [max(q, 1 - q) for q in p.values()]
        confidence = sum(touched) / len(touched)
        votes[task] = Vote(chosen, confidence, p, "binary_relevance", counts[task])
    return DimensionFit(votes, f"binary_relevance/{used}")


def _group(triples: Iterable[Triple]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for task, _, answer in triples:
        grouped[task].append(answer)
    return grouped


def fit_likert(triples: Sequence[Triple]) -> DimensionFit:
    return DimensionFit({t: vote_likert(a) for t, a in _group(triples).items()}, "mean")


def fit_spans(triples: Sequence[Triple], texts: Mapping[int, str]) -> DimensionFit:
    votes = {t: vote_spans(a, texts.get(t, "")) for t, a in _group(triples).items()}
    return DimensionFit(votes, "char_vote")


def fit_dimension(
    dim: dict[str, Any],
    triples: Sequence[Triple],
    method: str,
    gold: Mapping[int, Any],
    texts: Mapping[int, str],
) -> DimensionFit | None:
    kind = dim["type"]
    if kind == "choice":
        return fit_choice(triples, [o["value"] for o in dim["options"]], method, gold)
    if kind == "multi_choice":
        return fit_multi_choice(triples, [o["value"] for o in dim["options"]], method, gold)
    if kind == "likert":
        return fit_likert(triples)
    if kind == "spans":
        return fit_spans(triples, texts)
    return None
