"""Generation backends. Importing this package is cheap; a backend's module imports torch."""

from __future__ import annotations

from typing import Any

from generation.backends.base import Backend, DecodingParams, GeneratedOutput, ModelLoadError


def load_backend(
    backend: str,
    path: str,
    *,
    batch_size: int,
    threads: int | None = None,
    lend_idle_cores: bool = False,
    engine_args: dict[str, Any] | None = None,
) -> Backend:
    """Load the named backend (worker processes only: this imports torch, or vllm)."""
    if backend == "transformers":
        from generation.backends.transformers_backend import TransformersBackend

        return TransformersBackend.load(
            path, batch_size=batch_size, threads=threads, lend_idle_cores=lend_idle_cores
        )
    if backend == "vllm":
        # vLLM sizes its own thread pools and batches (`pip install .[vllm]`).
        from generation.backends.vllm_backend import VllmBackend

        return VllmBackend.load(path, batch_size=batch_size, **(engine_args or {}))
    raise ModelLoadError(f"backend {backend!r} cannot generate")


__all__ = ["Backend", "DecodingParams", "GeneratedOutput", "ModelLoadError", "load_backend"]
