"""Cleaning jobs at scale: documents/s and MB/s with 1 and 2 real Celery worker processes, for
the lexicon path (TF-IDF harm classifier + lexicon span tagger, `default` queue) and the
transformer path (a MiniLM harm classifier fine-tuned here for a minute, `gpu` queue; in fp32 and
with the job precision int8: int8 Linear layers on CPU); peak
worker memory; and a worker SIGKILLed mid-job, replaced, with its shard sent again by the
sweep: the output must hold every document exactly once.

    .venv/bin/python bench/clean_corpus.py [--docs 120000] [--transformer-docs 6000]

The corpus is built from ../shared/datasets texts (Toxic Spans comments, HateXplain,
ConvAbuse, CrowS-Pairs, BBQ contexts, TruthfulQA), cycled with distinct ids to --docs.
Writes bench/results/clean_corpus.json. SQLite and the filesystem broker under
var/bench-clean (the embedded default), one worker per process, -P solo so the process
measured is the one that works.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "datasets"
if not DATA.exists():
    DATA = Path("/work/shared/datasets")
VAR = ROOT / "var" / "bench-clean"
RESULTS = ROOT / "bench" / "results" / "clean_corpus.json"
STALE_S = 30

csv.field_size_limit(1 << 24)


def shared_texts() -> list[str]:
    texts: list[str] = []
    with (DATA / "toxic_spans" / "comments.csv").open(newline="") as f:
        texts += [r["comment_text"] for r in csv.DictReader(f)]
    with (DATA / "hatexplain" / "mbib_092-HateXplain.csv").open(newline="") as f:
        texts += [r["text"] for r in csv.DictReader(f)]
    for name in ("ConvAbuseEMNLPtrain.csv", "ConvAbuseEMNLPvalid.csv"):
        with (DATA / "convabuse" / name).open(newline="") as f:
            texts += [r["user"] for r in csv.DictReader(f) if r.get("user")]
    with (DATA / "crows_pairs" / "crows_pairs_anonymized.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            texts += [r["sent_more"], r["sent_less"]]
    for p in sorted((DATA / "bbq").glob("*.jsonl")):
        with p.open() as f:
            texts += [json.loads(line)["context"] for line in f]
    with (DATA / "truthfulqa" / "TruthfulQA.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            texts += [r["Question"], r["Best Answer"]]
    return [t for t in dict.fromkeys(t.strip() for t in texts) if t]


def build_corpus(path: Path, n: int) -> tuple[int, int]:
    texts = shared_texts()
    rng = random.Random(0)
    with path.open("w") as f:
        for i in range(n):
            t = texts[i % len(texts)] if i < len(texts) else rng.choice(texts)
            f.write(json.dumps({"id": f"doc-{i}", "text": t, "source": "shared"}) + "\n")
    return n, len(texts)


def setup() -> None:
    os.environ.update(
        ASSAY_VAR_DIR=str(VAR),
        ASSAY_CLEANING_ROOT=str(VAR / "corpora"),
        ASSAY_CLEANING_OUTPUT_DIR=str(VAR / "cleaning"),
        ASSAY_JOB_STALE_SECONDS=str(STALE_S),
        LOG_LEVEL="WARNING",
    )
    from bench._django import setup_django

    setup_django()


def _train(campaign: Any, target: str, backend: str, **params: Any) -> Any:
    from assay.celery import app
    from classifiers.models import ClassifierVersion
    from classifiers.services.runs import training_run_request

    app.conf.task_always_eager = True
    try:
        run = training_run_request(
            campaign=campaign, target=target, backend=backend, hyperparameters=params
        )
    finally:
        app.conf.task_always_eager = False
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    return ClassifierVersion.objects.get(run=run)


def _campaign(user: Any, name: str) -> tuple[Any, Any]:
    from generation.models import CandidateModel
    from labeling.campaigns.services import campaign_create

    campaign = campaign_create(user=user, name=name)
    model, _ = CandidateModel.objects.get_or_create(
        name="bench-clean corpus", defaults={"backend": "imported"}
    )
    return campaign, model


def _items(campaign: Any, model: Any, texts: list[str]) -> list[tuple[str, int]]:
    from labeling.campaigns.services import NewItem, items_create, prompts_import

    lines = [json.dumps({"id": f"p{i}", "text": f"post {i}"}) for i in range(len(texts))]
    prompts_import(campaign=campaign, data="\n".join(lines), fmt="jsonl")
    pid = dict(campaign.prompts.values_list("external_id", "id"))
    items_create(
        campaign=campaign,
        model_id=model.pk,
        params_hash="bench",
        new_items=[
            NewItem(prompt_id=pid[f"p{i}"], sample_index=0, text=t) for i, t in enumerate(texts)
        ],
    )
    return list(
        campaign.items.order_by("prompt__external_id").values_list("prompt__external_id", "id")
    )


def char_runs(offsets: list[int]) -> list[tuple[int, int]]:
    """Consecutive character offsets as [start, end) spans."""
    runs: list[list[int]] = []
    for o in sorted(set(offsets)):
        if runs and o == runs[-1][1]:
            runs[-1][1] = o + 1
        else:
            runs.append([o, o + 1])
    return [(a, b) for a, b in runs]


def train_classifiers(user: Any) -> dict[str, Any]:
    from labeling.models import Consensus

    with (DATA / "hatexplain" / "mbib_092-HateXplain.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    random.Random(1).shuffle(rows)
    out = {}
    for backend, n, params in (
        ("tfidf_logreg", 3000, {"crossfit_folds": 2}),
        (
            "transformer",
            300,
            {"epochs": 1, "max_length": 64, "batch_size": 32, "crossfit_folds": 2},
        ),
    ):
        campaign, model = _campaign(user, f"bench-clean harm {backend}")
        texts = [r["text"] for r in rows[:n]]
        ids = dict(_items(campaign, model, texts))
        Consensus.objects.bulk_create(
            Consensus(
                campaign=campaign,
                item_id=ids[f"p{i}"],
                dimension="harm",
                value="unsafe" if r["label"] == "1" else "safe",
                confidence=1.0,
                method="gold",
                n_labels=1,
            )
            for i, r in enumerate(rows[:n])
        )
        t0 = time.monotonic()
        out[backend] = _train(campaign, "harm", backend, **params)
        print(f"trained {backend} on {n} posts in {time.monotonic() - t0:.0f}s", flush=True)
    # The lexicon tagger from Toxic Spans' gold spans (code-point offsets) as consensus.
    with (DATA / "toxic_spans" / "tsd_train.csv").open(newline="") as f:
        posts = list(csv.DictReader(f))[:3000]
    campaign, model = _campaign(user, "bench-clean spans")
    ids = dict(_items(campaign, model, [p["text"] for p in posts]))
    cons = []
    for i, p in enumerate(posts):
        spans = char_runs(json.loads(p["spans"]))
        value = [{"start": a, "end": b, "label": "toxic", "text": p["text"][a:b]} for a, b in spans]
        cons.append(
            Consensus(
                campaign=campaign,
                item_id=ids[f"p{i}"],
                dimension="harmful_spans",
                value=value,
                confidence=1.0,
                method="gold",
                n_labels=1,
            )
        )
    Consensus.objects.bulk_create(cons)
    out["span_lexicon"] = _train(campaign, "harmful_spans", "span_lexicon")
    return out


class Workers:
    def __init__(self, queue: str, n: int, threads: int) -> None:
        self.queue, self.threads = queue, threads
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []
        for _ in range(n):
            self.add()

    def add(self) -> None:
        env = {**os.environ, "ASSAY_TORCH_THREADS": str(self.threads)}
        name = f"bench{len(self.procs)}-{self.queue}@%h"
        self.procs.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/celery"),
                    "-A",
                    "assay",
                    "worker",
                    "-Q",
                    self.queue,
                    "-P",
                    "solo",
                    "-n",
                    name,
                    "-l",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=self._log(name),
            )
        )

    def _log(self, name: str) -> Any:
        handle = (VAR / f"{name.split('@')[0]}.log").open("a")
        self.logs.append(handle)
        return handle

    def peak_rss_mb(self) -> float:
        import psutil

        total = 0.0
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total = max(total, psutil.Process(p.pid).memory_info().rss / 2**20)
        return total

    def kill(self, i: int) -> None:
        os.killpg(self.procs[i].pid, signal.SIGKILL)
        self.procs[i].wait()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def run_job(
    user: Any,
    corpus: str,
    versions: dict[str, Any],
    path_kind: str,
    shard: int,
    workers: Workers,
    kill_after: int | None = None,
) -> dict[str, Any]:
    from cleaning.services import cleaning_job_create, resend_stale

    doc = versions["tfidf_logreg" if path_kind == "lexicon" else "transformer"]
    precision = "int8" if path_kind.endswith("_int8") else "fp32"
    tagger = {"version": versions["span_lexicon"].pk, "threshold": 0.5}
    t0 = time.monotonic()
    job = cleaning_job_create(
        user=user,
        name=f"bench {path_kind}",
        path=corpus,
        text_field="text",
        id_field="id",
        document_classifiers=[{"version": doc.pk, "threshold": 0.9}],
        tagger=tagger if path_kind == "lexicon" else None,
        shard_size=shard,
        precision=precision,
    )
    peak, killed, last_sweep = 0.0, False, time.monotonic()
    while True:
        time.sleep(0.5)
        peak = max(peak, workers.peak_rss_mb())
        job.refresh_from_db()
        if job.status in ("succeeded", "failed", "cancelled"):
            break
        if kill_after is not None and not killed and job.shards_done >= kill_after:
            running = job.shards.filter(status="running").exists()
            if running:
                workers.kill(0)
                workers.add()
                killed = True
                print("  killed worker 0 mid-shard; started a replacement", flush=True)
        if time.monotonic() - last_sweep > 3:  # what clean_corpus --wait does
            resend_stale(job.pk)
            last_sweep = time.monotonic()
    wall = time.monotonic() - t0
    assert job.status == "succeeded", job.error
    return {"job": job, "wall": wall, "peak_mb": round(peak, 1), "killed": killed}


def check_output(job: Any, n: int) -> dict[str, int]:
    seen: dict[str, int] = {}
    for kind in ("cleaned", "removed"):
        for p in sorted((Path(job.output_dir) / kind).glob("shard-*.jsonl")):
            with p.open() as f:
                for line in f:
                    i = json.loads(line)["id"]
                    seen[i] = seen.get(i, 0) + 1
    expected = {f"doc-{i}" for i in range(n)}
    return {
        "missing": len(expected - set(seen)),
        "duplicated": sum(c - 1 for c in seen.values() if c > 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=120_000)
    ap.add_argument("--transformer-docs", type=int, default=2_000)
    ap.add_argument("--shard", type=int, default=5_000)
    ap.add_argument("--fresh", action="store_true", help="Train the classifiers again")
    ap.add_argument("--only", choices=["lexicon", "transformer", "transformer_int8"], default=None)
    args = ap.parse_args()
    saved = VAR / "versions.json"
    if args.fresh or not saved.exists():
        shutil.rmtree(VAR, ignore_errors=True)
    (VAR / "corpora").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(VAR / "broker", ignore_errors=True)  # tasks of an interrupted run
    shutil.rmtree(VAR / "cleaning", ignore_errors=True)
    setup()
    from django.contrib.auth import get_user_model

    from classifiers.models import ClassifierVersion

    n, unique = build_corpus(VAR / "corpora" / "corpus.jsonl", args.docs)
    nt, _ = build_corpus(VAR / "corpora" / "small.jsonl", args.transformer_docs)
    load0 = os.getloadavg()
    if saved.exists():  # the classifiers of an earlier run (training is not what is measured)
        user = get_user_model().objects.get(username="bench")
        ids = json.loads(saved.read_text())
        versions = {k: ClassifierVersion.objects.get(pk=v) for k, v in ids.items()}
    else:
        user = get_user_model().objects.create_superuser("bench", password="x")
        versions = train_classifiers(user)
        saved.write_text(json.dumps({k: v.pk for k, v in versions.items()}))
    # With --only, the other path's figures of an earlier run are kept.
    results: dict[str, Any] = (
        json.loads(RESULTS.read_text()) if args.only and RESULTS.exists() else {}
    )
    results["corpus"] = {"docs": n, "unique_texts": unique, "transformer_docs": nt}
    rows = []
    for path_kind, queue, corpus, docs in (
        ("lexicon", "default", "corpus.jsonl", n),
        ("transformer", "gpu", "small.jsonl", nt),
        # The same model scored with int8 Linear layers (the job's precision "int8").
        ("transformer_int8", "gpu", "small.jsonl", nt),
    ):
        if args.only and args.only != path_kind:
            continue
        for k in (1, 2):
            threads = max(1, (os.cpu_count() or 2) // k)
            workers = Workers(queue, k, threads)
            time.sleep(6)
            try:
                shard = args.shard if path_kind == "lexicon" else max(200, docs // (6 * k))
                r = run_job(user, corpus, versions, path_kind, shard, workers)
            finally:
                workers.stop()
            mb = r["job"].input_bytes / 2**20
            entry = {
                "docs_per_s": round(docs / r["wall"], 1),
                "docs_per_s_per_worker": round(docs / r["wall"] / k, 1),
                "mb_per_s": round(mb / r["wall"], 3),
                "peak_mb": r["peak_mb"],
                "docs": docs,
                "wall_s": round(r["wall"], 1),
                "torch_threads": threads,
                "load": [round(x, 2) for x in os.getloadavg()],
            }
            results.setdefault(path_kind, {})[f"workers_{k}"] = entry
            rows.append((path_kind, k, entry))
            print(path_kind, k, entry, flush=True)
    workers = Workers("default", 2, 1)
    time.sleep(6)
    try:
        r = run_job(user, "corpus.jsonl", versions, "lexicon", 2_000, workers, kill_after=3)
    finally:
        workers.stop()
    check = check_output(r["job"], n)
    attempts = list(r["job"].shards.values_list("attempts", flat=True))
    results["kill_resume"] = {
        **check,
        "killed": r["killed"],
        "shards_retried": sum(1 for a in attempts if a > 1),
    }
    results["load_before"] = [round(x, 2) for x in load0]
    results["cpus"] = os.cpu_count()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\n{'path':<17} {'workers':>7} {'docs/s':>9} {'/worker':>8} {'MB/s':>7} "
        f"{'peak MB':>8} {'docs':>7}"
    )
    for kind, k, e in rows:
        print(
            f"{kind:<17} {k:>7} {e['docs_per_s']:>9} {e['docs_per_s_per_worker']:>8} "
            f"{e['mb_per_s']:>7} {e['peak_mb']:>8} "
            f"{e['docs']:>7}"
        )
    print("kill/resume:", results["kill_resume"])


if __name__ == "__main__":
    main()
