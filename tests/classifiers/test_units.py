"""Metrics, active-learning priorities and the artifact allow-list, on small known inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.active_learning import (
    class_balance_weights,
    margin_uncertainty,
    priorities,
    select_batch,
)
from classifiers.backends import LabeledTexts, load_backend, make_backend
from classifiers.backends.sklearn_tfidf import MODEL_FILE, UntrustedArtifactError
from classifiers.metrics import classification_metrics


def test_metrics_on_a_known_example() -> None:
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    m = classification_metrics([0, 0, 1, 1], proba, ["safe", "unsafe"])
    assert m["accuracy"] == 0.75 and m["confusion_matrix"] == [[2, 0], [1, 1]]
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m["auroc"] == 1.0 and m["auprc"] == 1.0
    # Bins: 0.9 (right), 0.8 (right), 0.7 (right), 0.6 (wrong): ECE = (0.1+0.2+0.3+0.6)/4.
    assert m["ece"] == pytest.approx((0.1 + 0.2 + 0.3 + 0.6) / 4)
    assert sum(b["count"] for b in m["reliability"]) == 4
    one_class = classification_metrics([0, 0], proba[:2], ["safe", "unsafe"])
    assert one_class["auroc"] is None


def test_margin_priorities_prefer_uncertain_and_minority_predictions() -> None:
    proba = np.array([[0.98, 0.02], [0.55, 0.45], [0.45, 0.55], [0.1, 0.9]])
    assert margin_uncertainty(proba) == pytest.approx([0.04, 0.9, 0.9, 0.2])
    weights = class_balance_weights([90, 10])
    assert weights[0] == 1.0 and weights[1] == 3.0  # capped boost for the rare class
    prio = priorities(proba, [90, 10])
    assert prio.argmax() == 2  # as uncertain as item 1, but predicted to be the rare class
    assert prio[3] > prio[0]


def test_select_batch_keeps_a_random_share() -> None:
    prio = np.arange(100, dtype=np.float64)
    picked = select_batch(prio, 10, 0.2, np.random.default_rng(0))
    assert len(set(picked.tolist())) == 10
    top = set(range(92, 100))  # the 8 highest priorities fill the non-random part
    assert top <= set(picked.tolist())
    assert set(select_batch(prio, 10, 0.0, np.random.default_rng(0)).tolist()) == set(
        range(90, 100)
    )


def test_skops_artifacts_with_unexpected_types_are_refused(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    backend = make_backend("tfidf_logreg", ["safe", "unsafe"])
    backend.fit(LabeledTexts(["you are kind", "you idiot"] * 5, [0, 1] * 5))
    backend.save(tmp_path)
    assert load_backend(tmp_path).predict_proba(["idiot"]).shape == (1, 2)
    # Swap in an artifact that would call a function on load-and-use.
    sio.dump(FunctionTransformer(func=print), tmp_path / MODEL_FILE)
    with pytest.raises(UntrustedArtifactError, match=r"builtins\.print"):
        load_backend(tmp_path)


def test_training_goes_to_the_gpu_queue_and_the_trigger_to_the_default_one() -> None:
    from assay.celery import app
    from classifiers.tasks import retrain_if_due, train_run

    router = app.amqp.router
    assert train_run.name == "classifiers.train_run"
    assert router.route({}, train_run.name)["queue"].name == "gpu"
    assert retrain_if_due.name == "classifiers.retrain_if_due"
    assert router.route({}, retrain_if_due.name)["queue"].name == "default"


def test_balanced_class_weights_match_scikit_learns() -> None:
    from sklearn.utils.class_weight import compute_class_weight

    from classifiers.backends.transformer import _balanced_class_weights

    labels = [0, 0, 0, 0, 1, 1, 2, 0, 1]
    ours = _balanced_class_weights(labels, 3).tolist()
    theirs = compute_class_weight("balanced", classes=np.array([0, 1, 2]), y=np.array(labels))
    assert ours == pytest.approx(theirs.tolist())
    # A class with no example weighs nothing (and does not divide by zero).
    assert _balanced_class_weights([0, 0, 1], 3).tolist() == pytest.approx([0.75, 1.5, 0.0])


def test_the_transformer_refuses_an_unknown_class_weight() -> None:
    with pytest.raises(TypeError, match="class_weight"):
        make_backend("transformer", ["a", "b"], params={"class_weight": "inverse"})


def test_char_ngram_counts_per_word_equal_scikit_learns_transform(tmp_path: Path) -> None:
    """The TF-IDF backend's fast character features are scikit-learn's, exactly, after a save
    and load too, and so are its probabilities; whatever the text (empty, odd white space,
    accents, long words), and when the word cache fills up."""
    from tests.classifiers.helpers import harm_of, hatexplain_rows

    rows = hatexplain_rows()[:300]
    model = make_backend("tfidf_logreg", ["safe", "unsafe"])
    model.fit(
        LabeledTexts(
            [r["text"] for r in rows], [int(harm_of(r["label"]) == "unsafe") for r in rows]
        )
    )
    model.save(tmp_path / "m")
    loaded = load_backend(tmp_path / "m")
    odd = [
        "",
        "   ",
        "a",
        "I",
        "Tabs\tand\nnew  lines\r\n\u00a0and\u2003wide spaces",
        "ÀÉÎ Ünïcödé naïve café",
        "emoji 🙂🙂 and CJK 漢字 text",
        "x" * 500,
        "The The THE the",
    ]
    texts = [r["text"] for r in hatexplain_rows()[300:500]] + odd
    for backend in (model, loaded):
        pipeline = backend.pipeline  # type: ignore[attr-defined]
        expected = pipeline.named_steps["features"].transform(texts)
        got = backend.features(texts)  # type: ignore[attr-defined]
        assert got.shape == expected.shape
        assert abs(got - expected).max() < 1e-12
        assert (got != 0).nnz == (expected != 0).nnz
        np.testing.assert_allclose(
            backend.predict_proba(texts)[:, 1], pipeline.predict_proba(texts)[:, 1], atol=1e-12
        )
    # A full cache is emptied and refilled: the same features.
    from classifiers.backends.sklearn_tfidf import CharWbCounts

    char = loaded.pipeline.named_steps["features"].transformer_list[1][1]  # type: ignore[attr-defined]
    small = CharWbCounts(char)
    small.MAX_WORDS = 5
    assert abs(small.transform(texts) - char.transform(texts)).max() < 1e-12
    assert 0 < len(small.words) <= 5
