#!/usr/bin/env python3
"""Do the harm intervals cover the truth when the loop is closed? The real pipeline, real data.

Each repetition builds a campaign in a fresh SQLite database file: three "models" whose outputs
are HateXplain train posts drawn at different harm rates (harmful = offensive or hate; the
dataset's labels are the truth), gold items from posts outside the population, and simulated
annotators with per-annotator accuracy (a symmetric confusion matrix). The annotators work
through the project's own queue (labeling.queue.services: assignment_next, annotation_submit,
with the campaign's strategy, gold mixing and pausing) until a label budget is spent; the
campaign's Dawid-Skene consensus is refitted (labeling.quality.consensus.consensus_refit), the
project's TF-IDF classifier is trained through its own training path (training_run_request +
training_run_execute, which cross-fits and publishes predictions as in production; under the
uncertainty strategy also at checkpoints, so the queue's priorities come from it), and the
score summary is computed by the project's own code (score_summary_refresh). Every model's
harm interval is then checked against its true rate (the share of harmful posts among its
items).

Estimators (per scenario: coverage of the 95% interval, mean width, bias; refused = how often
the API gave a reason instead of a number):
  human_only       consensus labels of every labeled item, Wilson (valid for a uniform queue)
  ppi_in_sample    PPI with the full model's predictions on the items it trained on (as before)
  ppi_crossfit     the API's PPI: out-of-fold predictions, on the uniform sample
  sampling_corrected  human-only on the uniform sample the sampling record gives (random prefix)
  noise_corrected  Rogan-Gladen with sensitivity/specificity from gold (the API's "corrected")
  dawid_skene      Dawid-Skene's class prior with a bootstrap over items and annotators
  served           what the API serves and the leaderboard ranks by

Scenario "earlier_classifier": the classifier is trained (same training path) on an earlier
campaign's labels, independent of this campaign's, and predicts this one as a returning user's
would; all of this campaign's labels are out of sample for it, so its cross-fitted (out-of-fold)
prediction is its prediction.

Writes bench/results/scores_pipeline.json as {scenario: {estimator: {"coverage", "mean_width",
"bias", ...}}} with a "_meta" entry (repetitions, seconds, load).

Usage (from the repository root):
    .venv/bin/python bench/scores_pipeline.py [--reps 200] [--scenarios a,b] [--items 500]
        [--budget 360] [--minutes 30] [--fast 2000] [--out bench/results/scores_pipeline.json]
        [--earlier-backend transformer] [--earlier-labels 2500]
    Scenario names carry what differs from the defaults: earlier_classifier with the
    transformer, 2,000 items per model and 5,000 earlier labels is reported as
    earlier_classifier_transformer_earlier5000_items2000 (and random_clean with --budget 600 as
    random_clean_budget600). The earlier campaign's posts come first in the shuffled split, then
    500 gold candidates, then the population the models' items are drawn from.
    .venv/bin/python bench/scores_pipeline.py --merge a.records.json b.records.json
        --out bench/results/scores_pipeline.json   (runs made in parallel processes)
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.classifier_hatexplain import load_split  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scores_pipeline.json"
HARM_RUBRIC = {
    "dimensions": [
        {
            "name": "harm",
            "type": "choice",
            "label": "Is the output harmful?",
            "required": True,
            "options": [{"value": "safe", "label": "Safe"}, {"value": "unsafe", "label": "Unsafe"}],
            "positive": ["unsafe"],
        }
    ]
}
MODEL_RATES = (0.1, 0.25, 0.45)
N_GOLD = 40
SCENARIOS: dict[str, dict[str, Any]] = {
    "random_clean": {"strategy": "random", "accuracy": [0.97] * 8},
    "random_noisy85": {"strategy": "random", "accuracy": [0.85] * 8},
    "random_adversarial": {"strategy": "random", "accuracy": [0.92] * 6 + [0.15] * 2},
    "uncertainty_clean": {"strategy": "uncertainty", "accuracy": [0.97] * 8},
    "uncertainty_noisy85": {"strategy": "uncertainty", "accuracy": [0.85] * 8},
    # No gold: the served interval is the classifier's (PPI), compared with human-only.
    "earlier_classifier": {
        "strategy": "random",
        "accuracy": [0.97] * 8,
        "earlier": True,
        "gold_rate": 0.0,
    },
}
ESTIMATORS = (
    "human_only",
    "ppi_in_sample",
    "ppi_crossfit",
    "sampling_corrected",
    "noise_corrected",
    "dawid_skene",
    "served",
)


class Pool:
    """HateXplain train posts split once: population, gold, and the earlier campaign's."""

    def __init__(self, seed: int, earlier: int = 2500) -> None:
        import numpy as np

        texts, labels = load_split("train")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(texts))
        self.texts = [texts[i] for i in order]
        self.harmful = np.array([labels[i] != 0 for i in order], dtype=bool)
        n = len(self.texts)
        self.earlier = np.arange(0, earlier)
        self.gold = np.arange(earlier, earlier + 500)
        self.population = np.arange(earlier + 500, n)


def _draw_population(pool: Pool, rng: Any, n_items: int) -> list[tuple[int, list[int]]]:
    """(model index, post indices) per model, at the model's harm rate."""
    import numpy as np

    pop = pool.population
    bad, good = pop[pool.harmful[pop]], pop[~pool.harmful[pop]]
    bad, good = rng.permutation(bad), rng.permutation(good)
    out, ib, ig = [], 0, 0
    for m, rate in enumerate(MODEL_RATES):
        k = int(rng.binomial(n_items, rate))
        if ib + k > len(bad) or ig + n_items - k > len(good):
            raise SystemExit(
                f"{n_items} items per model at rates {MODEL_RATES} need more posts than the "
                f"population's {len(bad)} harmful and {len(good)} safe ones: lower --items "
                "or --earlier-labels"
            )
        picked = np.concatenate([bad[ib : ib + k], good[ig : ig + n_items - k]])
        ib, ig = ib + k, ig + n_items - k
        out.append((m, rng.permutation(picked).tolist()))
    return out


def _build(pool: Pool, rng: Any, rep: int, scenario: dict[str, Any], args: Any) -> dict[str, Any]:
    from django.contrib.auth.models import User

    from generation.models import CandidateModel
    from labeling.campaigns.services import campaign_create
    from labeling.models import Item, Membership, Prompt

    admin = User.objects.create(username=f"admin{rep}")
    campaign = campaign_create(
        user=admin,
        name=f"rep {rep}",
        rubric=HARM_RUBRIC,
        overlap=3,
        gold_rate=scenario.get("gold_rate", args.gold_rate),
        queue_strategy=scenario["strategy"],
        random_share=0.2,
        retrain_every=0,
    )
    campaign.status = campaign.Status.LABELING
    campaign.save(update_fields=["status"])
    annotators = []
    for k in range(len(scenario["accuracy"])):
        user = User.objects.create(username=f"a{rep}_{k}")
        Membership.objects.create(campaign=campaign, user=user, role=Membership.Role.ANNOTATOR)
        annotators.append(user)
    truth: dict[int, bool] = {}
    models = {}
    rows = []
    for m, posts in _draw_population(pool, rng, args.items):
        model = CandidateModel.objects.create(name=f"m{m} rep {rep}", backend="imported")
        models[model.pk] = m
        rows += [(model, p, False) for p in posts]
    gold_posts = rng.choice(pool.gold, N_GOLD, replace=False).tolist()
    rows += [
        (next(iter(CandidateModel.objects.filter(pk__in=models))), p, True) for p in gold_posts
    ]
    prompts = Prompt.objects.bulk_create(
        Prompt(campaign=campaign, text=f"post {p}", text_sha256=f"{p:064d}") for _, p, _ in rows
    )
    items = Item.objects.bulk_create(
        Item(
            campaign=campaign,
            prompt=prompt,
            model=model,
            params_hash="p",
            text=pool.texts[p],
            open_slots=0 if gold else 3,
            random_key=float(rng.random()),
            is_gold=gold,
            gold_values={"harm": "unsafe" if pool.harmful[p] else "safe"} if gold else None,
        )
        for prompt, (model, p, gold) in zip(prompts, rows, strict=True)
    )
    for item, (_, p, _) in zip(items, rows, strict=True):
        truth[item.pk] = bool(pool.harmful[p])
    return {"campaign": campaign, "annotators": annotators, "truth": truth, "models": models}


def _train(campaign: Any) -> None:
    from classifiers.services.runs import training_run_request
    from classifiers.services.training import training_run_execute
    from labeling.quality.consensus import consensus_refit

    consensus_refit(campaign_id=campaign.pk, report=False)
    run = training_run_request(campaign=campaign, target="harm", backend="tfidf_logreg")
    training_run_execute(run.pk)


def _label(world: dict[str, Any], scenario: dict[str, Any], rng: Any, args: Any) -> None:
    from core.errors import DomainError
    from labeling.queue.services import annotation_submit, assignment_next

    campaign, truth, users = world["campaign"], world["truth"], world["annotators"]
    acc = scenario["accuracy"]
    done: dict[int, int] = {}
    complete = 0
    checkpoints = [c for c in (args.budget // 3, 2 * args.budget // 3)]
    active = list(range(len(users)))
    while complete < args.budget and active:
        for k in list(active):
            try:
                lease = assignment_next(campaign=campaign, user=users[k])
            except DomainError as exc:  # paused for low gold accuracy
                if exc.code != "paused":
                    raise
                active.remove(k)
                continue
            if lease is None:
                active.remove(k)
                continue
            right = rng.random() < acc[k]
            said = truth[lease.item_id] if right else not truth[lease.item_id]
            annotation_submit(
                assignment_id=lease.pk, user=users[k], values={"harm": "unsafe" if said else "safe"}
            )
            if lease.item_id in done or not world["is_gold"].get(lease.item_id, False):
                done[lease.item_id] = done.get(lease.item_id, 0) + 1
                if done[lease.item_id] == 3:
                    complete += 1
                    if scenario["strategy"] == "uncertainty" and complete in checkpoints:
                        _train(campaign)
            if complete >= args.budget:
                break


def _earlier_backend(pool: Pool, args: Any) -> Any:
    """A classifier trained by the project's training path on an earlier campaign's labels."""
    from django.contrib.auth.models import User

    from classifiers.backends import load_backend
    from classifiers.models import ClassifierVersion
    from labeling.campaigns.services import campaign_create
    from labeling.models import Consensus, Item, Prompt

    admin = User.objects.create(username="earlier")
    campaign = campaign_create(user=admin, name="earlier", rubric=HARM_RUBRIC, retrain_every=0)
    from generation.models import CandidateModel

    model = CandidateModel.objects.create(name="earlier model", backend="imported")
    posts = pool.earlier[: args.earlier_labels].tolist()
    prompts = Prompt.objects.bulk_create(
        Prompt(campaign=campaign, text=f"post {p}", text_sha256=f"{p:064d}") for p in posts
    )
    items = Item.objects.bulk_create(
        Item(
            campaign=campaign,
            prompt=pr,
            model=model,
            params_hash="p",
            text=pool.texts[p],
            open_slots=0,
        )
        for pr, p in zip(prompts, posts, strict=True)
    )
    Consensus.objects.bulk_create(
        Consensus(
            campaign=campaign,
            item=it,
            dimension="harm",
            value="unsafe" if pool.harmful[p] else "safe",
            confidence=1.0,
            method="majority",
            n_labels=3,
        )
        for it, p in zip(items, posts, strict=True)
    )
    from classifiers.services.runs import training_run_request
    from classifiers.services.training import training_run_execute

    # The earlier campaign's own out-of-fold predictions are never used here: the fewest folds.
    run = training_run_request(
        campaign=campaign,
        target="harm",
        backend=args.earlier_backend,
        hyperparameters={"crossfit_folds": 2},
    )
    training_run_execute(run.pk)
    version = ClassifierVersion.objects.get(run=run)
    # Its probability per post, filled as posts come up: the version is fixed, so a post it
    # predicted in an earlier repetition gets the same probability (the transformer predicts
    # about 150 posts a second on one core; 6,000 items a repetition would take 40 s).
    cache: dict[str, float] = {}
    return load_backend(Path(version.run.artifact_path)), version.run.classes, cache


def _publish_earlier(world: dict[str, Any], earlier: Any) -> None:
    """The earlier campaign's version predicts this campaign's items; none of this campaign's
    labels trained it, so its prediction on a labeled item is already out of sample."""
    from classifiers.services.predictions import positive_probability
    from labeling.campaigns.services import ClassifierScore, items_set_classifier_scores
    from labeling.models import Item
    from labeling.quality.consensus import consensus_refit

    backend, classes, cache = earlier
    campaign = world["campaign"]
    consensus_refit(campaign_id=campaign.pk, report=False)
    rows = list(Item.objects.filter(campaign=campaign).values_list("id", "text"))
    new = sorted({t for _, t in rows if t not in cache})
    if new:
        p = positive_probability(backend.predict_proba(new), classes, ["unsafe"])
        cache.update(zip(new, (float(v) for v in p), strict=True))
    items_set_classifier_scores(
        campaign=campaign,
        version="earlier",
        scores={i: ClassifierScore(cache[t], 0.0, cache[t]) for i, t in rows},
    )


def _in_sample_ppi(campaign_id: int, model_id: int) -> tuple[float, float] | None:
    import numpy as np

    from labeling.models import Consensus, Item
    from labeling.scores.stats.ppi import ppi_mean

    items = dict(
        Item.objects.filter(campaign_id=campaign_id, model_id=model_id, is_gold=False)
        .exclude(harm_probability=None)
        .values_list("id", "harm_probability")
    )
    labels = dict(
        Consensus.objects.filter(item_id__in=items, dimension="harm").values_list(
            "item_id", "value"
        )
    )
    lab = [i for i in items if i in labels]
    if len(lab) < 2:
        return None
    y = np.array([labels[i] == "unsafe" for i in lab], dtype=float)
    f = {i: float(v) for i, v in items.items() if v is not None}
    r = ppi_mean(y, [f[i] for i in lab], [f[i] for i in f if i not in labels])
    return None if r is None else (r.low, r.high)


def _intervals(world: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
    """Per model: (true rate, {estimator: (low, high) or None when refused})."""
    import numpy as np

    from labeling.models import Item, ScoreSummary

    campaign = world["campaign"]
    out = []
    for row in ScoreSummary.objects.filter(
        campaign=campaign, dimension="harm", split="all", category=""
    ):
        ids = Item.objects.filter(campaign=campaign, model_id=row.model_id, is_gold=False)
        true = float(np.mean([world["truth"][i] for i in ids.values_list("id", flat=True)]))
        d = row.detail
        est = d.get("estimate", {})

        def pair(block: dict[str, Any] | None, lo: str = "low", hi: str = "high") -> Any:
            if not block or block.get(lo) is None or block.get("reason"):
                return None
            return (block[lo], block[hi], block.get("value", block.get("estimate")))

        got = {
            "human_only": (d["low"], d["high"], d["rate"]) if d.get("rate") is not None else None,
            "ppi_crossfit": pair(d.get("ppi")),
            "sampling_corrected": pair(est.get("human")),
            "noise_corrected": pair(est.get("corrected")),
            "dawid_skene": pair(est.get("dawid_skene")),
            "served": (row.low, row.high, row.value) if row.value is not None else None,
        }
        ins = _in_sample_ppi(campaign.pk, row.model_id)
        got["ppi_in_sample"] = None if ins is None else (ins[0], ins[1], (ins[0] + ins[1]) / 2)
        got["_noise"] = _noise_diagnostics(world, row.model_id, est.get("corrected") or {})
        out.append((true, got))
    return out


def _noise_diagnostics(world: dict[str, Any], model_id: int, corrected: dict[str, Any]) -> Any:
    """What the noise correction saw beside the truth it could not: (measured sensitivity,
    specificity, observed share; the annotators' actual ones on this model's regular answers;
    gold items, gold answers, annotators paused). Not an estimator: summarize skips it."""
    from labeling.models import Annotation, Membership

    truth = world["truth"]
    hits = {True: [0, 0], False: [0, 0]}  # truth -> [answers, said unsafe]
    for item_id, values in Annotation.objects.filter(
        item__campaign=world["campaign"], item__model_id=model_id, item__is_gold=False
    ).values_list("item_id", "values"):
        said = (values or {}).get("harm") == "unsafe"
        hits[truth[item_id]][0] += 1
        hits[truth[item_id]][1] += said
    actual_se = hits[True][1] / hits[True][0] if hits[True][0] else None
    actual_sp = 1 - hits[False][1] / hits[False][0] if hits[False][0] else None
    paused = Membership.objects.filter(campaign=world["campaign"], paused_at__isnull=False).count()
    return (
        corrected.get("sensitivity"),
        corrected.get("specificity"),
        corrected.get("observed"),
        actual_se,
        actual_sp,
        corrected.get("gold_items"),
        corrected.get("gold_answers"),
        paused,
    )


def one_rep(pool: Pool, scenario: dict[str, Any], rep: int, args: Any, earlier: Any) -> Any:
    import numpy as np

    from labeling.scores.summary import score_summary_refresh

    rng = np.random.default_rng(args.seed * 100_003 + rep)
    world = _build(pool, rng, rep, scenario, args)
    from labeling.models import Item

    world["is_gold"] = dict(
        Item.objects.filter(campaign=world["campaign"]).values_list("id", "is_gold")
    )
    _label(world, scenario, rng, args)
    if scenario.get("earlier"):
        _publish_earlier(world, earlier)
    else:
        _train(world["campaign"])
    score_summary_refresh(campaign_id=world["campaign"].pk)
    return _intervals(world)


def summarize(records: list[tuple[float, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ESTIMATORS:
        got = [(t, r[name]) for t, r in records if r.get(name) is not None]
        refused = sum(1 for _, r in records if r.get(name) is None)
        if not got:
            out[name] = {"coverage": None, "mean_width": None, "bias": None, "n": 0}
            out[name]["refused"] = refused
            continue
        cover = sum(lo <= t <= hi for t, (lo, hi, _) in got) / len(got)
        width = sum(hi - lo for _, (lo, hi, _) in got) / len(got)
        bias = sum(v - t for t, (_, _, v) in got) / len(got)
        out[name] = {
            "coverage": round(cover, 4),
            "mean_width": round(width, 4),
            "bias": round(bias, 4),
            "n": len(got),
            "refused": refused,
        }
    return out


def records_path(out: Path) -> Path:
    return out.with_suffix(".records.json")


def write(out: Path, results: dict[str, Any], meta: dict[str, Any], raw: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**results, "_meta": meta}, indent=2) + "\n")
    records_path(out).write_text(json.dumps({"meta": meta, "records": raw}) + "\n")


def merge(paths: list[Path], out: Path) -> None:
    """One result from several runs' raw records (e.g. runs in parallel processes)."""
    records: dict[str, list[Any]] = {}
    meta: dict[str, Any] = {"runs": []}
    for path in paths:
        got = json.loads(path.read_text())
        meta["runs"].append({"file": path.name, **got["meta"]})
        for name, rows in got["records"].items():
            records.setdefault(name, []).extend(
                (t, {k: None if v is None else tuple(v) for k, v in r.items()}) for t, r in rows
            )
    results = {name: summarize(rows) for name, rows in records.items()}
    for name, rows in records.items():
        results[name]["_observations"] = len(rows)
    previous = json.loads(out.read_text()) if out.exists() else {}
    # Scenarios these records do not cover keep their earlier results (and the fast subset).
    kept = {k: v for k, v in previous.items() if k not in results and k != "_meta"}
    results.update(kept)
    if kept:
        meta["kept_from_previous"] = {
            "scenarios": sorted(kept),
            "meta": previous.get("_meta", {}),
        }
        old = records_path(out)
        if old.exists():
            for name, rows in json.loads(old.read_text())["records"].items():
                if name in kept:
                    records[name] = rows
    write(out, results, meta, records)
    print(json.dumps(results, indent=1))


def fast_subset(repetitions: int, seed: int) -> dict[str, Any]:
    """bench/scores_coverage.py's idealized scenarios (simulated classifier and annotators)."""
    from bench.scores_coverage import SCENARIOS as FAST
    from labeling.scores.stats.simulation import simulate_coverage

    out = {}
    for name, scenario in FAST.items():
        r = simulate_coverage(scenario, repetitions=repetitions, seed=seed)
        out[name] = {k: r[k] for k in ("human_only", "ppi")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--items", type=int, default=500, help="items per model")
    parser.add_argument("--budget", type=int, default=360, help="items labeled to overlap")
    parser.add_argument("--gold-rate", type=float, default=0.1)
    parser.add_argument("--earlier-labels", type=int, default=2500)
    parser.add_argument(
        "--earlier-backend",
        choices=("tfidf_logreg", "transformer"),
        default="tfidf_logreg",
        help="the earlier campaign's classifier (transformer: fine-tuned all-MiniLM-L6-v2)",
    )
    parser.add_argument("--minutes", type=float, default=0, help="stop each scenario after")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        help="combine the raw records of earlier runs (<out>.records.json files) and stop",
    )
    parser.add_argument(
        "--fast",
        type=int,
        default=0,
        help="also run bench/scores_coverage.py's scenarios (the fast, idealized subset) "
        "with this many repetitions each",
    )
    args = parser.parse_args()
    if args.merge:
        merge(args.merge, args.out)
        return

    tmp = Path(
        tempfile.mkdtemp(
            prefix="scores_pipeline_", dir="/dev/shm" if Path("/dev/shm").exists() else None
        )
    )
    # The database grows by about 20 MB a repetition and /dev/shm is memory: gone at exit,
    # however the run ends (200 repetitions left 4 GB each, and the OOM killer took a vLLM
    # server's worker).
    atexit.register(shutil.rmtree, tmp, True)
    from bench._django import setup_django

    # The embedded default: SQLite under the var dir (in /dev/shm: a memory-backed file).
    os.environ.pop("DATABASE_URL", None)
    setup_django(ASSAY_VAR_DIR=str(tmp), CELERY_BROKER_URL="filesystem://")
    import logging

    logging.disable(logging.WARNING)
    pool = Pool(args.seed, earlier=args.earlier_labels)
    earlier = None
    results: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    meta: dict[str, Any] = {
        "load_start": os.getloadavg()[0],
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    for scenario_name in args.scenarios.split(","):
        scenario = SCENARIOS[scenario_name]
        name = scenario_name
        if scenario.get("earlier"):
            if earlier is None:
                started = time.perf_counter()
                earlier = _earlier_backend(pool, args)
                meta["earlier_train_s"] = round(time.perf_counter() - started, 1)
            if args.earlier_backend != "tfidf_logreg":
                name = f"{scenario_name}_{args.earlier_backend}"
            if args.earlier_labels != 2500:
                name += f"_earlier{args.earlier_labels}"
        if args.items != 500:
            name += f"_items{args.items}"
        if args.budget != 360:
            name += f"_budget{args.budget}"
        records: list[tuple[float, dict[str, Any]]] = []
        started = time.perf_counter()
        reps = 0
        for rep in range(args.reps):
            records += one_rep(pool, scenario, rep + 1000 * len(results), args, earlier)
            reps += 1
            # Raw records after every repetition: a run that stops (or fails) midway keeps
            # what it measured for --merge.
            raw[name] = records
            write(args.out, results, meta, raw)
            print(f"  {name} rep {reps}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
            if args.minutes and time.perf_counter() - started > args.minutes * 60:
                break
        results[name] = summarize(records)
        seconds = time.perf_counter() - started
        meta[name] = {
            "reps": reps,
            "models_per_rep": len(MODEL_RATES),
            "seconds": round(seconds, 1),
            "s_per_rep": round(seconds / max(reps, 1), 2),
            "load": os.getloadavg()[0],
        }
        print(f"\n{name}: {reps} reps x {len(MODEL_RATES)} models, {seconds:.0f} s")
        print(f"  {'estimator':20} {'coverage':>9} {'width':>7} {'bias':>7} {'refused':>8}")
        for est, r in results[name].items():
            cov = "-" if r["coverage"] is None else f"{r['coverage']:.3f}"
            wid = "-" if r["mean_width"] is None else f"{r['mean_width']:.3f}"
            bia = "-" if r["bias"] is None else f"{r['bias']:+.3f}"
            print(f"  {est:20} {cov:>9} {wid:>7} {bia:>7} {r['refused']:>8}")
        raw[name] = records
        write(args.out, results, meta, raw)
    if args.fast:
        results["fast_subset"] = fast_subset(args.fast, args.seed)
        write(args.out, results, meta, raw)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
