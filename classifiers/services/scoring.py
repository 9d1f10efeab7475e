"""Score arbitrary texts with any classifier version: a document classifier's class
probabilities, or a span tagger's labeled spans.

`score_texts(version, texts)` is the stable entry point other apps (cleaning jobs) call:

- document classifier: ``{"label": top class, "probabilities": {class: p}}`` per text, the
  classes in the version's order (``version_classes(version)``);
- span tagger: ``{"spans": [{"start", "end", "label", "score"}]}`` per text, code-point offsets
  into the text as given (``text[start:end]`` in Python).

Loaded models are cached per process (keyed by artifact folder), so a worker scoring many
batches loads each version once. Worker side for torch and scikit-learn versions; the lexicon
tagger is pure Python.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.backends.base import SPAN_TAGGER
from classifiers.models import ClassifierVersion

if TYPE_CHECKING:
    from classifiers.backends import ClassifierBackend, SpanTagger

CACHE_SIZE = 4
BATCH = 256
_cache: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def version_kind(version: ClassifierVersion) -> str:
    return str(version.run.kind)


def version_classes(version: ClassifierVersion) -> list[str]:
    """The class order of a document classifier's probabilities, or a tagger's span labels."""
    return list(version.run.classes)


def loaded_model(version: ClassifierVersion) -> ClassifierBackend | SpanTagger:
    """The version's fitted model, from the per-process cache when it is there."""
    from classifiers.backends import load_any

    path = version.run.artifact_path
    if not path:
        raise ValueError(f"version {version.name} has no saved model")
    with _lock:
        if path in _cache:
            _cache.move_to_end(path)
            return _cache[path]
    model = load_any(Path(path))
    with _lock:
        _cache[path] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def score_texts(version: ClassifierVersion, texts: list[str]) -> list[dict[str, Any]]:
    """One result per text, in order (see the module docstring for the shapes)."""
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be strings")
    model = loaded_model(version)
    out: list[dict[str, Any]] = []
    if version_kind(version) == SPAN_TAGGER:
        tagger: SpanTagger = model  # type: ignore[assignment]
        for i in range(0, len(texts), BATCH):
            out += [{"spans": spans} for spans in tagger.predict_spans(texts[i : i + BATCH])]
        return out
    backend: ClassifierBackend = model  # type: ignore[assignment]
    classes = version_classes(version)
    for i in range(0, len(texts), BATCH):
        proba = backend.predict_proba(texts[i : i + BATCH])
        for row in proba:
            probs = {c: round(float(row[k]), 6) for k, c in enumerate(classes)}
            out.append({"label": classes[int(row.argmax())], "probabilities": probs})
    return out
