"""Run inside the vLLM CPU venv (no Django there): the `vllm` backend on a HF folder, one line
of JSON per output, then one line with real SamplingParams built from sampling_kwargs.

    <vllm venv>/bin/python tests/integration/vllm_offline_child.py FOLDER MAX_NEW_TOKENS < prompts
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from generation.backends import load_backend
from generation.backends.base import DecodingParams
from generation.backends.vllm_backend import sampling_kwargs


def main() -> None:
    folder, max_new_tokens = sys.argv[1], int(sys.argv[2])
    prompts = json.loads(sys.stdin.read())
    backend = load_backend(
        "vllm",
        folder,
        batch_size=16,
        engine_args={"dtype": "float32", "enforce_eager": True, "max_model_len": 2048},
    )
    params = DecodingParams(max_new_tokens=max_new_tokens)
    for batch in backend.generate(prompts, params, sample_index=0):
        for out in batch:
            print("OUT " + json.dumps(out.__dict__), flush=True)
    # Sampling: two samples of one prompt use seeds seed+0 and seed+1, and are reproducible.
    sampled = DecodingParams(temperature=1.0, top_p=0.95, max_new_tokens=16, seed=7)
    runs = {}
    for s in (0, 1):
        for rep in (0, 1):
            batches = backend.generate(prompts[:4], sampled, sample_index=s)
            runs[(s, rep)] = [o.text for b in batches for o in b]
    from vllm import SamplingParams

    real = SamplingParams(**sampling_kwargs(sampled, 3))
    print(
        "SAMPLING "
        + json.dumps(
            {
                "same_seed_same_text": runs[0, 0] == runs[0, 1] and runs[1, 0] == runs[1, 1],
                "other_seed_other_text": runs[0, 0] != runs[1, 0],
                "seed": real.seed,
                "temperature": real.temperature,
                "top_p": real.top_p,
                "max_tokens": real.max_tokens,
                "n": real.n,
                "engine_version": backend.engine_version,
                "device": backend.device,
                "dtype": backend.dtype,
                "revision": backend.revision,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
