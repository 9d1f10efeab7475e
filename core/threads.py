"""Threads per worker process for torch and the BLAS/OpenMP runtimes under it.

Two worker processes on a 2-core machine that each start torch's default (one thread per core)
oversubscribe the cores: SmolLM2 fell from 82-87 to 6.9 tokens/s (bench/generation.py). Each
process gets its share instead (ASSAY_TORCH_THREADS, default cores / worker processes).
Importing this module is cheap: torch is imported only by `set_torch_threads`, in workers.
"""

from __future__ import annotations

import os

# Read once by each runtime when it starts, so they must be set before torch or numpy loads;
# subprocesses (tokenizers, dataloaders) inherit them.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_torch_threads(worker_processes: int, cores: int | None = None) -> int:
    return max(1, (cores if cores is not None else cpu_cores()) // max(1, worker_processes))


def apply_thread_env(threads: int) -> None:
    """Set the runtimes' thread variables (worker start, before anything imports torch)."""
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)
    # The Rust tokenizers pool would add its own threads per core on top of torch's.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def set_torch_threads(threads: int) -> int:
    """Set torch's intra-op threads for this process (before work); returns the new value."""
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return int(torch.get_num_threads())


def configured_torch_threads() -> int | None:
    """ASSAY_TORCH_THREADS when Django is configured (workers); None in plain scripts."""
    from django.conf import settings

    if not settings.configured:
        return None
    threads = getattr(settings, "ASSAY_TORCH_THREADS", None)
    return int(threads) if threads else None
