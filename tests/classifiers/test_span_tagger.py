"""The span tagger kind: the lexicon and transformer taggers trained from consensus spans
through the project's training path, scored through score_texts."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from classifiers.backends import SpannedTexts, load_any, make_tagger
from classifiers.models import ClassifierVersion, TrainingRun
from classifiers.services.runs import training_run_request
from classifiers.services.scoring import score_texts
from core.errors import DomainError
from labeling.models import Campaign
from tests.classifiers.helpers import build_tiny_bert
from tests.classifiers.span_helpers import sentence, spans_campaign

pytestmark = pytest.mark.django_db(transaction=True)


def train(
    campaign: Campaign, backend: str, target: str = "harmful_spans", **params: Any
) -> TrainingRun:
    from django.test.utils import override_settings

    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        from assay.celery import app

        app.conf.task_always_eager = True
        try:
            run = training_run_request(
                campaign=campaign, target=target, backend=backend, hyperparameters=params
            )
        finally:
            app.conf.task_always_eager = False
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    return run


def test_lexicon_tagger_trains_from_consensus_spans_and_scores_texts() -> None:
    campaign, _ = spans_campaign(120, 5)
    run = train(campaign, "span_lexicon")
    assert run.kind == "span_tagger"
    assert run.classes == ["toxic", "stereotype", "false_claim", "dangerous_advice"]
    assert run.n_labels == 120
    assert len(run.eval_item_ids) > 10
    assert run.metrics is not None
    assert run.metrics["char_f1"] > 0.9  # the synthetic words are perfectly separable
    assert 0 <= run.metrics["char_precision"] <= 1
    assert (
        sum(b["count"] for b in run.metrics["score_histogram"]) == run.metrics["n_predicted_spans"]
    )
    version = ClassifierVersion.objects.get(run=run)
    assert version.is_active and version.promoted

    text = "Über the river a moron said the hoax was true"
    [result, empty] = score_texts(version, [text, "the weather report"])
    assert empty == {"spans": []}
    got = {(s["start"], s["end"], s["label"]) for s in result["spans"]}
    start = text.index("moron")
    assert (start, start + 5, "toxic") in got
    hoax = text.index("hoax")
    assert (hoax, hoax + 4, "false_claim") in got
    assert all(0 < s["score"] <= 1 for s in result["spans"])


def test_a_tagger_needs_a_spans_dimension_and_a_document_classifier_a_choice_one() -> None:
    campaign, _ = spans_campaign(30)
    with pytest.raises(DomainError) as err:
        training_run_request(campaign=campaign, target="harm", backend="span_lexicon")
    assert "target" in err.value.errors
    with pytest.raises(DomainError) as err:
        training_run_request(campaign=campaign, target="harmful_spans", backend="tfidf_logreg")
    assert "target" in err.value.errors


def test_lexicon_saves_and_loads_to_the_same_predictions(tmp_path: Path) -> None:
    rng = random.Random(1)
    rows = [sentence(rng) for _ in range(200)]
    tagger = make_tagger("span_lexicon", ["toxic", "false_claim"])
    tagger.fit(
        SpannedTexts([t for t, _ in rows[:150]], [s for _, s in rows[:150]]),
        SpannedTexts([t for t, _ in rows[150:]], [s for _, s in rows[150:]]),
    )
    tagger.save(tmp_path / "lex")
    again = load_any(tmp_path / "lex")
    texts = [t for t, _ in rows[150:]]
    assert again.predict_spans(texts) == tagger.predict_spans(texts)  # type: ignore[union-attr]


@pytest.mark.slow
def test_transformer_tagger_on_a_tiny_random_bert(tmp_path: Path) -> None:
    campaign, _ = spans_campaign(80)
    path = build_tiny_bert(tmp_path / "tiny")
    run = train(campaign, "span_transformer", model_path=str(path), epochs=1, max_length=32)
    assert run.metrics is not None and 0 <= run.metrics["char_f1"] <= 1
    version = ClassifierVersion.objects.get(run=run)
    [result] = score_texts(version, ["Über the river a moron said the hoax was true " * 6])
    text = "Über the river a moron said the hoax was true " * 6
    for s in result["spans"]:
        assert 0 <= s["start"] < s["end"] <= len(text)
        assert s["label"] in run.classes
