"""Threads per worker process for torch and the BLAS/OpenMP runtimes under it.

Two worker processes on a 2-core machine that each start torch's default (one thread per core)
oversubscribe the cores: SmolLM2 fell from 82-87 to 6.9 tokens/s (bench/generation.py). Each
process gets its share instead (ASSAY_TORCH_THREADS, default cores / worker processes).
Importing this module is cheap: torch is imported only by `set_torch_threads`, in workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

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


def _cpu_busy_seconds(cpus: frozenset[int]) -> float | None:
    """Busy CPU time of these CPUs since boot, from /proc/stat (None off Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            lines = handle.readlines()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = 0
    seen = 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu" or not name[3:].isdigit():
            continue
        if int(name[3:]) not in cpus:
            continue
        fields = [int(x) for x in rest.split()]
        # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
        # already counted in user, and idle + iowait is time nobody ran.
        busy += sum(fields[:8]) - fields[3] - fields[4]
        seen += 1
    return busy / ticks if seen else None


class CoreLender:
    """Work-conserving threads: this process's share of the cores, plus the cores no other
    process is using right now.

    The share (ASSAY_TORCH_THREADS) keeps two busy workers from oversubscribing the cores; but a
    share alone leaves cores idle while the other workers have nothing to do (on 2 cores, a
    generating `gpu` worker ran on one while the `default` worker slept). `adjust()` is called
    between decoding steps: at most every `interval` seconds it measures the other processes'
    CPU use over the last interval (busy time of this process's CPUs in /proc/stat, minus this
    process's own CPU time) and sets torch's threads to the share plus the idle cores, never
    below the share. When another process starts work, the next check (within an interval and
    one step) gives the cores back. Off Linux, or when lending is off, it keeps the share.
    """

    # A core counts as idle when others used less than this much of it.
    SLACK = 0.3

    def __init__(
        self,
        share: int,
        *,
        lend: bool = True,
        interval: float = 0.5,
        cores: int | None = None,
        busy_seconds: Callable[[], float | None] | None = None,
        own_seconds: Callable[[], float] | None = None,
        clock: Callable[[], float] | None = None,
        apply: Callable[[int], int] | None = None,
    ) -> None:
        import time

        self.share = max(1, share)
        self.cores = max(self.share, cores if cores is not None else cpu_cores())
        self.interval = interval
        cpus = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        self._busy = busy_seconds or (
            (lambda: _cpu_busy_seconds(cpus)) if cpus is not None else (lambda: None)
        )
        self._own = own_seconds or time.process_time
        self._clock = clock or time.monotonic
        self._apply = apply or set_torch_threads
        self.lend = lend and self.cores > self.share and self._busy() is not None
        self.threads = self._apply(self.share)
        self.used: set[int] = {self.threads}
        self._last = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        return self._clock(), self._busy() or 0.0, self._own()

    def others_load(self) -> float | None:
        """Cores the other processes kept busy since the last sample (None: too soon)."""
        elapsed = self._clock() - self._last[0]
        if elapsed < self.interval:
            return None  # checked first: reading /proc/stat at every step would cost time
        now = self._sample()
        elapsed = now[0] - self._last[0]
        load = ((now[1] - self._last[1]) - (now[2] - self._last[2])) / elapsed
        self._last = now
        return max(0.0, load)

    def adjust(self) -> int:
        """Threads for the next step: the share plus the cores others leave idle."""
        if not self.lend:
            return self.threads
        load = self.others_load()
        if load is None:
            return self.threads
        wanted = min(self.cores, max(self.share, int(self.cores - load + self.SLACK)))
        if wanted != self.threads:
            self.threads = self._apply(wanted)
            self.used.add(self.threads)
        return self.threads

    def reset_used(self) -> None:
        self.used = {self.threads}

    def release(self) -> int:
        """Back to the share (after a batch): whatever runs next in this process, a training
        run or scoring between chunks, starts on its share, not on cores lent to generation."""
        if self.threads != self.share:
            self.threads = self._apply(self.share)
        return self.threads
