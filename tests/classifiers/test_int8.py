"""Scoring transformer versions with int8 Linear layers on CPU (`precision="int8"`): the layers
really are quantized, the probabilities stay close to fp32, other backends are untouched, and
each precision has its own cached model."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from classifiers.backends import LabeledTexts, SpannedTexts, make_backend, make_tagger
from classifiers.models import ClassifierVersion
from classifiers.services.scoring import loaded_model, score_texts, scoring_precision
from labeling.models import Campaign
from tests.classifiers.helpers import build_tiny_bert, saved_version
from tests.classifiers.span_helpers import sentence
from tests.labeling.factories_extra import make_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert-int8"))


def _texts(n: int, seed: int = 0) -> list[tuple[str, list[dict[str, Any]]]]:
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(n)]


def _version(campaign: Campaign, tmp: Path, backend: str, model_path: Path) -> ClassifierVersion:
    rows = _texts(64)
    texts = [t for t, _ in rows]
    params = {"epochs": 1, "batch_size": 16, "max_length": 64}
    if backend == "span_transformer":
        kind, target, classes = "span_tagger", "harmful_spans", ["toxic", "false_claim"]
        model: Any = make_tagger(backend, classes, params={**params, "model_path": str(model_path)})
        model.fit(SpannedTexts(texts, [s for _, s in rows]))
    else:
        kind, target, classes = "document", "harm", ["safe", "unsafe"]
        model_params = {**params, "model_path": str(model_path)}
        if backend == "tfidf_logreg":
            model_params = {}
        model = make_backend(backend, classes, params=model_params)
        model.fit(LabeledTexts(texts, [int(bool(s)) for _, s in rows]))
    return saved_version(
        campaign, model, tmp / backend, backend=backend, kind=kind, target=target, classes=classes
    )


def _quantized_layers(module: Any) -> int:
    return sum(1 for m in module.modules() if "quantized" in type(m).__module__)


def test_a_document_transformer_scores_close_to_fp32_with_int8_layers(
    tmp_path: Path, tiny_bert: Path
) -> None:
    version = _version(make_campaign(), tmp_path, "transformer", tiny_bert)
    texts = [t for t, _ in _texts(80, seed=1)]
    fp32 = score_texts(version, texts)
    int8 = score_texts(version, texts, "int8")
    assert _quantized_layers(loaded_model(version, "int8").model) > 0
    assert _quantized_layers(loaded_model(version, "fp32").model) == 0
    assert scoring_precision(version, "int8") == "int8"
    assert scoring_precision(version, "fp32") == "fp32"
    gaps = [
        abs(a["probabilities"][c] - b["probabilities"][c])
        for a, b in zip(fp32, int8, strict=True)
        for c in ("safe", "unsafe")
    ]
    assert max(gaps) < 0.05, max(gaps)
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-4 for r in int8)


def test_a_span_transformer_tags_with_int8_layers(tmp_path: Path, tiny_bert: Path) -> None:
    version = _version(make_campaign(), tmp_path, "span_transformer", tiny_bert)
    texts = [t for t, _ in _texts(20, seed=2)]
    results = score_texts(version, texts, "int8")
    assert _quantized_layers(loaded_model(version, "int8").model) > 0
    assert len(results) == len(texts)
    for text, result in zip(texts, results, strict=True):
        for span in result["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(text)
            assert span["label"] in ("toxic", "false_claim")


def test_other_backends_score_as_always(tmp_path: Path, tiny_bert: Path) -> None:
    version = _version(make_campaign(), tmp_path, "tfidf_logreg", tiny_bert)
    texts = [t for t, _ in _texts(10, seed=3)]
    assert score_texts(version, texts, "int8") == score_texts(version, texts)
    assert scoring_precision(version, "int8") == "fp32"
    with pytest.raises(ValueError, match="precision"):
        score_texts(version, texts, "fp16")
