"""Torch/OpenMP threads per worker process: strict setting, default share, applied at start."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from core.env import ConfigError, env_int
from core.threads import THREAD_ENV_VARS, CoreLender, apply_thread_env, default_torch_threads


def test_default_is_the_cores_shared_out_and_at_least_one() -> None:
    assert default_torch_threads(2, cores=2) == 1
    assert default_torch_threads(2, cores=16) == 8
    assert default_torch_threads(3, cores=2) == 1
    assert default_torch_threads(1, cores=4) == 4
    assert default_torch_threads(0, cores=4) == 4


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_bad_thread_counts_are_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ASSAY_TORCH_THREADS", raw)
    with pytest.raises(ConfigError, match="ASSAY_TORCH_THREADS"):
        env_int("ASSAY_TORCH_THREADS", 1, minimum=1)


def _settings_threads(**env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("ASSAY_TORCH_THREADS",)}
    full.update(env, DJANGO_SETTINGS_MODULE="tests.settings")
    code = "import django; django.setup(); from django.conf import settings as s; "
    code += "print(s.ASSAY_TORCH_THREADS, s.ASSAY_WORKER_PROCESSES)"
    return subprocess.run(
        [sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120
    )


def test_settings_parse_strictly_and_default_to_a_share() -> None:
    cores = len(os.sched_getaffinity(0))
    ok = _settings_threads(ASSAY_WORKER_PROCESSES="2")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == [str(max(1, cores // 2)), "2"]
    assert _settings_threads(ASSAY_TORCH_THREADS="3").stdout.split()[0] == "3"
    bad = _settings_threads(ASSAY_TORCH_THREADS="0")
    assert bad.returncode != 0 and "ASSAY_TORCH_THREADS" in bad.stderr


def test_worker_start_sets_the_runtime_variables(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    from assay.celery import _share_the_cores

    for name in THREAD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    settings.ASSAY_TORCH_THREADS = 3
    _share_the_cores()
    assert {name: os.environ[name] for name in THREAD_ENV_VARS} == dict.fromkeys(
        THREAD_ENV_VARS, "3"
    )
    apply_thread_env(1)
    assert os.environ["OMP_NUM_THREADS"] == "1"


class _Machine:
    """A fake clock and CPU counters: others' and our own busy seconds, advanced by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.others = 0.0
        self.own = 0.0
        self.applied: list[int] = []

    def run(self, seconds: float, *, others: float, own: float) -> None:
        """`seconds` pass with others keeping `others` cores busy and us `own` cores."""
        self.now += seconds
        self.others += others * seconds
        self.own += own * seconds

    def apply(self, threads: int) -> int:
        self.applied.append(threads)
        return threads

    def lender(self, share: int, cores: int, **kwargs: Any) -> CoreLender:
        return CoreLender(
            share,
            cores=cores,
            interval=0.5,
            busy_seconds=lambda: self.others + self.own,
            own_seconds=lambda: self.own,
            clock=lambda: self.now,
            apply=self.apply,
            **kwargs,
        )


def test_lender_borrows_idle_cores_and_gives_them_back() -> None:
    m = _Machine()
    lender = m.lender(1, 2)
    assert lender.threads == 1 and m.applied == [1]
    # (seconds passed, cores the others kept busy, cores we kept busy, threads after adjust)
    steps = [
        (0.6, 0.0, 1.0, 2),  # nobody else works: the second core is lent
        (0.2, 1.0, 1.0, 2),  # within the interval nothing is measured or changed
        (0.6, 0.67, 1.33, 1),  # the other worker starts (2/3 of a core beside our 2): share
        (0.6, 1.0, 1.0, 1),  # it keeps a whole core: we stay at the share
        (0.6, 2.0, 0.1, 1),  # never below the share
        (0.6, 0.05, 1.0, 2),  # it finishes: the core is lent again
    ]
    for seconds, others, own, threads in steps:
        m.run(seconds, others=others, own=own)
        assert lender.adjust() == threads, (seconds, others, own)
    assert m.applied == [1, 2, 1, 2]
    assert lender.used == {1, 2}
    lender.reset_used()
    assert lender.used == {2}
    # After a batch the lent cores go back, whatever runs next in the process.
    assert lender.release() == 1 and m.applied[-1] == 1
    assert lender.release() == 1 and m.applied == [1, 2, 1, 2, 1]


def test_lender_counts_the_cores_others_leave() -> None:
    m = _Machine()
    lender = m.lender(4, 16)
    m.run(1.0, others=3.0, own=4.0)
    assert lender.adjust() == 13  # 16 cores, 3 busy elsewhere
    m.run(1.0, others=11.8, own=4.2)
    assert lender.adjust() == 4  # the share, though only 4.2 are left
    m.run(1.0, others=0.0, own=4.0)
    assert lender.adjust() == 16


def test_lender_keeps_the_share_when_off_or_blind() -> None:
    m = _Machine()
    off = m.lender(1, 2, lend=False)
    m.run(1.0, others=0.0, own=1.0)
    assert off.adjust() == 1
    # No /proc/stat (not Linux): the counters read None and the share is kept.
    blind = CoreLender(1, cores=2, busy_seconds=lambda: None, apply=m.apply)
    assert not blind.lend and blind.adjust() == 1
    # All the cores are the share already: nothing to lend.
    assert not m.lender(2, 2).lend


def test_lender_reads_this_machine() -> None:
    """The real counters: /proc/stat's busy time moves with our own CPU time."""
    import time

    from core.threads import _cpu_busy_seconds

    cpus = frozenset(os.sched_getaffinity(0))
    before, own_before = _cpu_busy_seconds(cpus), time.process_time()
    assert before is not None and before > 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # burn a little CPU in this process
        sum(range(1000))
    after, own_after = _cpu_busy_seconds(cpus), time.process_time()
    assert after is not None
    # Machine-wide busy time includes ours (to the counters' 10 ms resolution).
    assert after - before >= (own_after - own_before) - 0.05
    assert _cpu_busy_seconds(frozenset({10_000})) is None  # a CPU this machine lacks
