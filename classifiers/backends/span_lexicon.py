"""The fast span tagger: a word and word-bigram lexicon learned from the labeled spans.

Pure Python (no numpy, no torch): it trains in seconds, predicts thousands of texts a second
on one core and loads from one JSON file (nothing is unpickled). Each word (lower-cased) scores
the share of its training occurrences that fell inside a harmful span, shrunk towards 0 for
rare words; a bigram that is more often harmful than its words marks both. Adjacent marked
words separated only by whitespace merge into one span. The threshold is the one with the best
character F1 on the calibration slice.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.backends.base import SpannedTexts, read_meta, write_meta
from classifiers.spans import char_f1, char_set

MODEL_FILE = "lexicon.json"
WORD = re.compile(r"[\w*@$]+(?:['\u2019][\w*]+)*")
THRESHOLDS = [round(0.05 * i, 2) for i in range(2, 19)]


@dataclass
class _Entry:
    total: int = 0
    harmful: int = 0
    labels: Counter[str] | None = None


def _words(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group().lower()) for m in WORD.finditer(text)]


def _word_label(start: int, end: int, by_char: dict[int, str]) -> str | None:
    """The label of most of the word's characters, when at least half of them are marked."""
    hits = Counter(by_char[c] for c in range(start, end) if c in by_char)
    if not hits or sum(hits.values()) * 2 < end - start:
        return None
    return hits.most_common(1)[0][0]


class SpanLexicon:
    name = "span_lexicon"
    kind = "span_tagger"

    def __init__(
        self,
        classes: list[str],
        *,
        seed: int = 0,
        max_n: int = 2,
        smoothing: float = 1.0,
        min_count: int = 1,
        threshold: float | None = None,
    ) -> None:
        if max_n not in (1, 2):
            raise TypeError("max_n must be 1 or 2")
        self.classes = list(classes)
        self.seed = seed
        self.params: dict[str, Any] = {
            "max_n": int(max_n),
            "smoothing": float(smoothing),
            "min_count": int(min_count),
            # None: tuned on the calibration slice (0.5 without one).
            "threshold": None if threshold is None else float(threshold),
        }
        self.threshold = 0.5 if threshold is None else float(threshold)
        self.lexicon: dict[str, tuple[float, str]] = {}
        self.train_seconds = 0.0

    @property
    def device(self) -> str:
        return "cpu"

    def fit(self, train: SpannedTexts, calibration: SpannedTexts | None = None) -> None:
        started = time.perf_counter()
        entries: dict[str, _Entry] = {}
        for text, spans in zip(train.texts, train.spans, strict=True):
            by_char: dict[int, str] = {}
            for s in spans:
                for c in range(s["start"], s["end"]):
                    by_char.setdefault(c, s["label"])
            words = _words(text)
            marks = [_word_label(a, b, by_char) for a, b, _ in words]
            grams: list[tuple[str, str | None]] = [
                (w, m) for (_, _, w), m in zip(words, marks, strict=True)
            ]
            if self.params["max_n"] == 2:
                grams += [
                    (
                        f"{words[i][2]} {words[i + 1][2]}",
                        marks[i] if marks[i] == marks[i + 1] else None,
                    )
                    for i in range(len(words) - 1)
                ]
            for key, label in grams:
                e = entries.setdefault(key, _Entry(labels=Counter()))
                e.total += 1
                if label is not None:
                    e.harmful += 1
                    assert e.labels is not None
                    e.labels[label] += 1
        k = self.params["smoothing"]
        self.lexicon = {
            key: (e.harmful / (e.total + k), e.labels.most_common(1)[0][0])
            for key, e in entries.items()
            if e.harmful and e.labels and e.total >= self.params["min_count"]
        }
        if self.params["threshold"] is None and calibration is not None and calibration.texts:
            self.threshold = self._tune(calibration)
        self.train_seconds = time.perf_counter() - started

    def _tune(self, cal: SpannedTexts) -> float:
        best = (-1.0, 0.5)
        scored = [self._word_scores(t) for t in cal.texts]
        gold = [char_set(s) for s in cal.spans]
        for threshold in THRESHOLDS:
            pred = [
                char_set(self._merge(t, w, threshold))
                for t, w in zip(cal.texts, scored, strict=True)
            ]
            f1 = sum(char_f1(p, g) for p, g in zip(pred, gold, strict=True)) / len(gold)
            if f1 > best[0]:
                best = (f1, threshold)
        return best[1]

    def _word_scores(self, text: str) -> list[tuple[int, int, float, str]]:
        words = _words(text)
        lex = self.lexicon
        scores = [lex.get(w, (0.0, "")) for _, _, w in words]
        if self.params["max_n"] == 2:
            for i in range(len(words) - 1):
                hit = lex.get(f"{words[i][2]} {words[i + 1][2]}")
                if hit is None:
                    continue
                for j in (i, i + 1):
                    if hit[0] > scores[j][0]:
                        scores[j] = hit
        return [(a, b, sc[0], sc[1]) for (a, b, _), sc in zip(words, scores, strict=True)]

    @staticmethod
    def _merge(
        text: str, scored: list[tuple[int, int, float, str]], threshold: float
    ) -> list[dict[str, Any]]:
        spans: list[dict[str, Any]] = []
        for a, b, score, label in scored:
            if score < threshold:
                continue
            last = spans[-1] if spans else None
            if last is not None and last["label"] == label and not text[last["end"] : a].strip():
                last["end"] = b
                last["score"] = max(last["score"], score)
            else:
                spans.append({"start": a, "end": b, "label": label, "score": score})
        for s in spans:
            s["score"] = round(float(s["score"]), 6)
        return spans

    def predict_spans(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        return [self._merge(t, self._word_scores(t), self.threshold) for t in texts]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MODEL_FILE).write_text(json.dumps(self.lexicon, ensure_ascii=False))
        write_meta(
            directory,
            {
                "backend": self.name,
                "kind": self.kind,
                "classes": self.classes,
                "seed": self.seed,
                "params": self.params,
                "threshold": self.threshold,
            },
        )

    @classmethod
    def load(cls, directory: Path) -> SpanLexicon:
        meta = read_meta(directory)
        backend = cls(meta["classes"], seed=int(meta["seed"]), **meta["params"])
        backend.threshold = float(meta["threshold"])
        raw = json.loads((directory / MODEL_FILE).read_text())
        if not isinstance(raw, dict):
            raise ValueError(f"{directory / MODEL_FILE}: not an object")
        backend.lexicon = {str(k): (float(v[0]), str(v[1])) for k, v in raw.items()}
        return backend

    def hyperparameters(self) -> dict[str, Any]:
        return {**self.params, "threshold": self.threshold, "lexicon_size": len(self.lexicon)}

    def library_versions(self) -> dict[str, str]:
        import platform

        return {"python": platform.python_version()}
