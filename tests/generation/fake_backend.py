"""An in-process backend that answers instantly and records what it was asked, for the chunk
and job bookkeeping tests (the real backends have their own tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from generation.backends import DecodingParams, GeneratedOutput


@dataclass
class FakeBackend:
    batch_size: int = 2
    device: str = "cpu"
    dtype: str = "none"
    revision: str = "fake-rev"
    engine: str = "fake"
    engine_version: str = "0"
    asked: list[tuple[str, int]] = field(default_factory=list)
    after_batch: Callable[[int], None] | None = None  # called with the batch number
    fail_on_batch: int | None = None

    def generate(
        self, prompts: list[str], params: DecodingParams, *, sample_index: int
    ) -> Iterator[list[GeneratedOutput]]:
        for n, start in enumerate(range(0, len(prompts), self.batch_size)):
            if self.fail_on_batch is not None and n == self.fail_on_batch:
                raise RuntimeError("the device fell over")
            batch = prompts[start : start + self.batch_size]
            self.asked.extend((p, sample_index) for p in batch)
            yield [
                GeneratedOutput(
                    prompt_index=start + i,
                    sample_index=sample_index,
                    text=f"answer to {p} #{sample_index}",
                    prompt_tokens=3,
                    output_tokens=5,
                    finish_reason="stop",
                    latency_ms=1.0,
                    provenance={"engine": self.engine},
                )
                for i, p in enumerate(batch)
            ]
            if self.after_batch is not None:
                self.after_batch(n)
