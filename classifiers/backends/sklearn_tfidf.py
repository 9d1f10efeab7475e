"""The baseline: TF-IDF word and character n-grams + logistic regression (scikit-learn).

Saved with skops; loading checks every type skops reports as untrusted against an allow-list
of the few scikit-learn and numpy types this pipeline is made of, so an artifact swapped on
disk cannot run code.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.backends.base import LabeledTexts, library_versions, read_meta, write_meta

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sklearn.pipeline import Pipeline

MODEL_FILE = "model.skops"
# What skops.io.get_untrusted_types reports for this pipeline: the only types a load accepts.
TRUSTED_TYPES = frozenset(
    {
        "builtins.dict",
        "builtins.float",
        "builtins.int",
        "builtins.list",
        "builtins.str",
        "builtins.tuple",
        "numpy.dtype",
        "numpy.float64",
        "numpy.int64",
        "numpy.ndarray",
        "scipy.sparse._csr.csr_matrix",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.feature_extraction.text.TfidfVectorizer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.pipeline.Pipeline",
    }
)


class UntrustedArtifactError(ValueError):
    pass


class TfidfLogreg:
    name = "tfidf_logreg"

    def __init__(
        self,
        classes: list[str],
        *,
        seed: int = 0,
        # Chosen on HateXplain's calibration slice (0.25-10 tried), never on its val split.
        C: float = 0.5,
        word_ngrams: tuple[int, int] | list[int] = (1, 2),
        char_ngrams: tuple[int, int] | list[int] = (2, 5),
        min_df: int = 2,
        max_features: int = 300_000,
        class_weight: str | None = "balanced",
        max_iter: int = 2000,
    ) -> None:
        self.classes = list(classes)
        self.seed = seed
        self.params: dict[str, Any] = {
            "C": float(C),
            "word_ngrams": list(word_ngrams),
            "char_ngrams": list(char_ngrams),
            "min_df": int(min_df),
            "max_features": int(max_features),
            "class_weight": class_weight,
            "max_iter": int(max_iter),
        }
        self.pipeline: Pipeline | None = None
        self.train_seconds = 0.0

    @property
    def device(self) -> str:
        return "cpu"

    def _pipeline(self, n_texts: int) -> Pipeline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        p = self.params
        # min_df=2 would drop every n-gram of a tiny set; it only pays off with many texts.
        min_df = p["min_df"] if n_texts >= 50 else 1
        half = p["max_features"] // 2
        features = FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(
                        ngram_range=tuple(p["word_ngrams"]),
                        min_df=min_df,
                        sublinear_tf=True,
                        max_features=half,
                    ),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=tuple(p["char_ngrams"]),
                        min_df=min_df,
                        sublinear_tf=True,
                        max_features=half,
                    ),
                ),
            ]
        )
        clf = LogisticRegression(
            C=p["C"],
            class_weight=p["class_weight"],
            max_iter=p["max_iter"],
            random_state=self.seed,
        )
        return Pipeline([("features", features), ("clf", clf)])

    def fit(self, train: LabeledTexts, calibration: LabeledTexts | None = None) -> None:
        # Logistic regression's probabilities are calibrated enough; the calibration slice is
        # left to the transformer, which needs it.
        started = time.perf_counter()
        pipeline = self._pipeline(len(train.texts))
        pipeline.fit(train.texts, train.labels, clf__sample_weight=train.weights)
        self.pipeline = pipeline
        self.train_seconds = time.perf_counter() - started

    def predict_proba(self, texts: list[str]) -> NDArray[np.float64]:
        import numpy as np

        if self.pipeline is None:
            raise RuntimeError("the model is not fitted")
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float64)
        if not texts:
            return out
        proba = self.pipeline.predict_proba(texts)
        # Classes absent from the training labels get probability 0.
        for col, cls in enumerate(self.pipeline.classes_):
            out[:, int(cls)] = proba[:, col]
        return out

    def save(self, directory: Path) -> None:
        import skops.io as sio

        if self.pipeline is None:
            raise RuntimeError("the model is not fitted")
        directory.mkdir(parents=True, exist_ok=True)
        sio.dump(self.pipeline, directory / MODEL_FILE)
        write_meta(
            directory,
            {
                "backend": self.name,
                "classes": self.classes,
                "seed": self.seed,
                "params": self.params,
            },
        )

    @classmethod
    def load(cls, directory: Path) -> TfidfLogreg:
        import skops.io as sio

        meta = read_meta(directory)
        path = directory / MODEL_FILE
        untrusted = sio.get_untrusted_types(file=path)
        unexpected = sorted(set(untrusted) - TRUSTED_TYPES)
        if unexpected:
            raise UntrustedArtifactError(f"{path}: refusing types {', '.join(unexpected)}")
        backend = cls(meta["classes"], seed=int(meta["seed"]), **meta["params"])
        backend.pipeline = sio.load(path, trusted=untrusted)
        return backend

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    def library_versions(self) -> dict[str, str]:
        return library_versions("scikit-learn", "scipy", "numpy", "skops")
