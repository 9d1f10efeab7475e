"""Classifier backends behind one interface (see base.py).

Nothing here imports scikit-learn, torch or transformers at module import: the web process
imports this package for names only; the heavy libraries load inside the worker-side calls.
"""

from classifiers.backends.base import (
    BACKEND_NAMES,
    ClassifierBackend,
    LabeledTexts,
    load_backend,
    make_backend,
)

__all__ = ["BACKEND_NAMES", "ClassifierBackend", "LabeledTexts", "load_backend", "make_backend"]
