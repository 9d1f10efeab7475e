"""One interface for the harm classifier's backends.

A backend is made for a list of class names, fitted on texts with class indices (and optional
sample weights), predicts a probability per class, saves itself into a folder and is loaded back
from it without pickle (skops with an allow-list; safetensors for tensors).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

BACKEND_NAMES = ("tfidf_logreg", "transformer", "span_lexicon", "span_transformer")
DOCUMENT = "document"
SPAN_TAGGER = "span_tagger"
# Which kind of classifier each backend makes: a document classifier (class probabilities per
# text) or a span tagger (labeled character spans with scores per text).
BACKEND_KINDS = {
    "tfidf_logreg": DOCUMENT,
    "transformer": DOCUMENT,
    "span_lexicon": SPAN_TAGGER,
    "span_transformer": SPAN_TAGGER,
}
META_FILE = "backend.json"


def backend_kind(name: str) -> str:
    try:
        return BACKEND_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}") from None


@dataclass
class SpannedTexts:
    """Texts with their spans ({start, end, label}, code-point offsets)."""

    texts: list[str]
    spans: list[list[dict[str, Any]]]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.spans):
            raise ValueError("texts and spans differ in length")


@dataclass
class LabeledTexts:
    texts: list[str]
    labels: list[int]  # indices into the backend's classes
    weights: list[float] | None = None

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError("texts and labels differ in length")
        if self.weights is not None and len(self.weights) != len(self.texts):
            raise ValueError("weights and texts differ in length")


class ClassifierBackend(Protocol):
    name: str
    classes: list[str]

    @property
    def device(self) -> str: ...

    def fit(self, train: LabeledTexts, calibration: LabeledTexts | None = None) -> None: ...

    def predict_proba(self, texts: list[str]) -> NDArray[np.float64]: ...

    def save(self, directory: Path) -> None: ...

    def hyperparameters(self) -> dict[str, Any]: ...

    def library_versions(self) -> dict[str, str]: ...


class SpanTagger(Protocol):
    name: str
    classes: list[str]  # the span labels

    @property
    def device(self) -> str: ...

    def fit(self, train: SpannedTexts, calibration: SpannedTexts | None = None) -> None: ...

    def predict_spans(self, texts: list[str]) -> list[list[dict[str, Any]]]: ...

    def save(self, directory: Path) -> None: ...

    def hyperparameters(self) -> dict[str, Any]: ...

    def library_versions(self) -> dict[str, str]: ...


def make_tagger(
    name: str, labels: list[str], *, seed: int = 0, params: dict[str, Any] | None = None
) -> SpanTagger:
    """A fresh, unfitted span tagger; unknown hyperparameters raise TypeError."""
    if name == "span_lexicon":
        from classifiers.backends.span_lexicon import SpanLexicon

        return SpanLexicon(labels, seed=seed, **(params or {}))
    if name == "span_transformer":
        from classifiers.backends.span_transformer import TransformerTagger

        return TransformerTagger(labels, seed=seed, **(params or {}))
    raise ValueError(f"unknown span tagger {name!r}")


def load_any(directory: Path) -> ClassifierBackend | SpanTagger:
    """A saved document classifier or span tagger, whichever the folder holds."""
    name = read_meta(directory).get("backend")
    if name == "span_lexicon":
        from classifiers.backends.span_lexicon import SpanLexicon

        return SpanLexicon.load(directory)
    if name == "span_transformer":
        from classifiers.backends.span_transformer import TransformerTagger

        return TransformerTagger.load(directory)
    return load_backend(directory)


def make_backend(
    name: str, classes: list[str], *, seed: int = 0, params: dict[str, Any] | None = None
) -> ClassifierBackend:
    """A fresh, unfitted backend; unknown hyperparameters raise TypeError."""
    if name == "tfidf_logreg":
        from classifiers.backends.sklearn_tfidf import TfidfLogreg

        return TfidfLogreg(classes, seed=seed, **(params or {}))
    if name == "transformer":
        from classifiers.backends.transformer import TransformerClassifier

        return TransformerClassifier(classes, seed=seed, **(params or {}))
    raise ValueError(f"unknown backend {name!r}; expected one of tfidf_logreg, transformer")


def load_backend(directory: Path) -> ClassifierBackend:
    meta = read_meta(directory)
    name = meta.get("backend")
    if name == "tfidf_logreg":
        from classifiers.backends.sklearn_tfidf import TfidfLogreg

        return TfidfLogreg.load(directory)
    if name == "transformer":
        from classifiers.backends.transformer import TransformerClassifier

        return TransformerClassifier.load(directory)
    raise ValueError(f"{directory}: unknown backend {name!r}")


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))


def read_meta(directory: Path) -> dict[str, Any]:
    data = json.loads((directory / META_FILE).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{directory / META_FILE}: not an object")
    return data


def library_versions(*names: str) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out
