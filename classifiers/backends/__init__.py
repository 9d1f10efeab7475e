"""Classifier backends behind one interface (see base.py).

Nothing here imports scikit-learn, torch or transformers at module import: the web process
imports this package for names only; the heavy libraries load inside the worker-side calls.
"""

from classifiers.backends.base import (
    BACKEND_KINDS,
    BACKEND_NAMES,
    DOCUMENT,
    SPAN_TAGGER,
    ClassifierBackend,
    LabeledTexts,
    SpannedTexts,
    SpanTagger,
    backend_kind,
    load_any,
    load_backend,
    make_backend,
    make_tagger,
)

__all__ = [
    "BACKEND_KINDS",
    "BACKEND_NAMES",
    "DOCUMENT",
    "SPAN_TAGGER",
    "ClassifierBackend",
    "LabeledTexts",
    "SpanTagger",
    "SpannedTexts",
    "backend_kind",
    "load_any",
    "load_backend",
    "make_backend",
    "make_tagger",
]
