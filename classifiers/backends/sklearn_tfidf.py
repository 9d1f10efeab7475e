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

    _char_counts: CharWbCounts | None = None

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
        self._char_counts = None
        self.train_seconds = time.perf_counter() - started

    def features(self, texts: list[str]) -> Any:
        """The pipeline's feature matrix for `texts`, equal to its FeatureUnion's transform;
        the character n-grams are counted per distinct word once (CharWbCounts)."""
        import scipy.sparse as sp

        if self.pipeline is None:
            raise RuntimeError("the model is not fitted")
        union = self.pipeline.named_steps["features"]
        if self._char_counts is None:
            self._char_counts = CharWbCounts(union.transformer_list[1][1])
        word = union.transformer_list[0][1].transform(texts)
        return sp.hstack([word, self._char_counts.transform(texts)]).tocsr()

    def predict_proba(self, texts: list[str]) -> NDArray[np.float64]:
        import numpy as np

        if self.pipeline is None:
            raise RuntimeError("the model is not fitted")
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float64)
        if not texts:
            return out
        proba = self.pipeline.named_steps["clf"].predict_proba(self.features(texts))
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


class CharWbCounts:
    """A fitted `char_wb` TfidfVectorizer's transform, exactly, several times faster.

    scikit-learn builds every character n-gram of every word of every text in Python. Those
    n-grams never cross a word boundary, so a word's feature ids depend on the word alone: here
    they are worked out once per distinct word (kept in a bounded cache) and the counts summed
    per text. The counts then go through the vectorizer's own TF-IDF step, so the result equals
    `vectorizer.transform(texts)` (tests/classifiers/test_units.py holds it to that).
    """

    MAX_WORDS = 500_000

    def __init__(self, vectorizer: Any) -> None:
        if vectorizer.analyzer != "char_wb":
            raise ValueError("CharWbCounts needs a char_wb vectorizer")
        self.vectorizer = vectorizer
        self.preprocess = vectorizer.build_preprocessor()
        self.min_n, self.max_n = vectorizer.ngram_range
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.words: dict[str, list[int]] = {}

    def _word_ids(self, word: str) -> list[int]:
        # scikit-learn's _char_wb_ngrams for one word, then the vocabulary lookup.
        w = f" {word} "
        w_len = len(w)
        ids: list[int] = []
        vocabulary = self.vocabulary
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            j = vocabulary.get(w[offset : offset + n])
            if j is not None:
                ids.append(j)
            while offset + n < w_len:
                offset += 1
                j = vocabulary.get(w[offset : offset + n])
                if j is not None:
                    ids.append(j)
            if offset == 0:  # a short word counts once
                break
        return ids

    def transform(self, texts: list[str]) -> Any:
        import numpy as np
        import scipy.sparse as sp

        vec = self.vectorizer
        words, white = self.words, vec._white_spaces
        cols: list[int] = []
        lengths: list[int] = []
        for text in texts:
            start = len(cols)
            for word in white.sub(" ", self.preprocess(vec.decode(text))).split():
                ids = words.get(word)
                if ids is None:
                    if len(words) >= self.MAX_WORDS:
                        words.clear()
                    ids = words[word] = self._word_ids(word)
                cols.extend(ids)
            lengths.append(len(cols) - start)
        rows = np.repeat(np.arange(len(texts)), lengths)
        counts = sp.csr_matrix(
            (np.ones(len(cols), dtype=vec.dtype), (rows, np.asarray(cols, dtype=np.int64))),
            shape=(len(texts), len(self.vocabulary)),
            dtype=vec.dtype,
        )
        counts.sum_duplicates()
        counts.sort_indices()
        if vec.binary:
            counts.data.fill(1)
        return vec._tfidf.transform(counts, copy=False)
