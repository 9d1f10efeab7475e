"""Torch/OpenMP threads per worker process: strict setting, default share, applied at start."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from core.env import ConfigError, env_int
from core.threads import THREAD_ENV_VARS, apply_thread_env, default_torch_threads


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
