"""Generation backends. Importing this package is cheap; a backend's module imports torch."""

from __future__ import annotations

from generation.backends.base import Backend, DecodingParams, GeneratedOutput, ModelLoadError


def load_backend(
    backend: str, path: str, *, batch_size: int, threads: int | None = None
) -> Backend:
    """Load the named backend (worker processes only: this imports torch)."""
    if backend == "transformers":
        from generation.backends.transformers_backend import TransformersBackend

        return TransformersBackend.load(path, batch_size=batch_size, threads=threads)
    raise ModelLoadError(f"backend {backend!r} cannot generate")


__all__ = ["Backend", "DecodingParams", "GeneratedOutput", "ModelLoadError", "load_backend"]
