from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


class ModelLoadError(Exception):
    """The model could not be loaded; the message says why, for the job's error field."""


@dataclass(frozen=True)
class DecodingParams:
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    max_new_tokens: int = 128
    seed: int = 0
    samples_per_prompt: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GeneratedOutput:
    """One output for (prompt index, sample index), with what is needed to reproduce it."""

    prompt_index: int
    sample_index: int
    text: str
    prompt_tokens: int
    output_tokens: int
    finish_reason: str  # "stop" (end of sequence) or "length" (max_new_tokens reached)
    latency_ms: float  # wall time of its batch divided by the batch's size
    provenance: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    device: str
    dtype: str
    revision: str
    engine: str
    engine_version: str

    def generate(
        self,
        prompts: list[str],
        params: DecodingParams,
        *,
        sample_index: int,
    ) -> Iterator[list[GeneratedOutput]]:
        """Yield outputs batch by batch (sorted by prompt length, padded left)."""
        ...
