"""Scores for a batch of texts from the job's classifier versions, on the worker.

Every version goes through the classifier app's `score_texts(version, texts)`: document
classifiers answer {"probabilities": {class: p}}, span taggers {"spans": [...]}; it caches
the loaded models per worker process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from classifiers.models import ClassifierVersion

ScoreFn = Callable[[ClassifierVersion, list[str], str], list[dict[str, Any]]]


def score_fn() -> ScoreFn:
    from classifiers.services.scoring import score_texts

    return score_texts


def effective_precision(version: ClassifierVersion, precision: str) -> str:
    """What the version is scored with on this worker (int8 only for transformers on CPU)."""
    from classifiers.services.scoring import scoring_precision

    return scoring_precision(version, precision)


def positive_probability(probabilities: dict[str, float], positive: list[str]) -> float:
    """P(a positive value), as the classifier app defines it (the top class when none named)."""
    if positive:
        p = sum(v for c, v in probabilities.items() if c in positive)
    else:
        p = max(probabilities.values(), default=0.0)
    return min(1.0, max(0.0, float(p)))


class JobScorer:
    """The versions of one job, loaded once: doc P(positive) per classifier name, and spans."""

    def __init__(
        self,
        document: list[dict[str, Any]],
        tagger: dict[str, Any] | None,
        precision: str = "fp32",
    ) -> None:
        ids = [int(d["version"]) for d in document] + ([int(tagger["version"])] if tagger else [])
        found = {
            v.pk: v for v in ClassifierVersion.objects.select_related("run").filter(pk__in=ids)
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise LookupError(f"classifier version {missing[0]} no longer exists")
        self.document = [(found[int(d["version"])], d) for d in document]
        self.tagger = found[int(tagger["version"])] if tagger else None
        self.precision = precision
        self._score = score_fn()
        # {version name: "fp32" | "int8"}: recorded with each shard (and so in the datasheet).
        self.effective = {
            v.name: effective_precision(v, precision)
            for v in [v for v, _ in self.document] + ([self.tagger] if self.tagger else [])
        }

    def score(self, texts: list[str]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
        """Per text: {name: {"probabilities", "positive"}}, and the tagger's spans."""
        per_doc: list[dict[str, Any]] = [{} for _ in texts]
        for version, conf in self.document:
            for out, res in zip(per_doc, self._score(version, texts, self.precision), strict=True):
                probs = {c: round(float(p), 6) for c, p in res["probabilities"].items()}
                out[conf["name"]] = {
                    "probabilities": probs,
                    "positive": round(positive_probability(probs, conf.get("positive", [])), 6),
                }
        spans: list[list[dict[str, Any]]] = [[] for _ in texts]
        if self.tagger is not None:
            for n, res in enumerate(self._score(self.tagger, texts, self.precision)):
                spans[n] = [
                    {
                        "start": int(s["start"]),
                        "end": int(s["end"]),
                        "label": str(s.get("label", "")),
                        "score": round(float(s.get("score", 1.0)), 6),
                    }
                    for s in res.get("spans", [])
                ]
        return per_doc, spans
