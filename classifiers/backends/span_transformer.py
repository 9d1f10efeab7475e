"""The transformer span tagger: token classification on a small encoder (MiniLM by default).

Each label of the spans dimension is a tag, beside "O" (the IO scheme: adjacent tokens of one
label form one span). Consensus spans (code-point offsets) become token tags through the fast
tokenizer's offset mapping: a token takes the label of most of its characters when at least
half of them are marked. Long texts are cut into overlapping windows (`stride` tokens shared),
for training and prediction alike, so no span is lost past `max_length`. A token is harmful
when 1 - P(O) reaches the threshold (tuned for character F1 on the calibration slice); spans
are widened to whole words, since raters mark words. The epoch kept is the best on the
calibration slice. Saved as a Hugging Face folder (safetensors): nothing is unpickled on load.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.backends.base import SpannedTexts, library_versions, read_meta, write_meta
from classifiers.spans import char_f1, char_set

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MODEL_DIR = "model"
# The benchmarked configuration (bench/span_tagger.py reads these): what the app trains when
# a run names no hyperparameters.
DEFAULTS: dict[str, Any] = {
    "max_length": 128,
    "stride": 32,
    # One epoch: 325 s for the 5,558 Toxic Spans train posts on this 2-core CPU (trial char F1
    # 0.675, bench/span_tagger.py); more epochs are the admin's choice per run.
    "epochs": 1,
    "batch_size": 16,
    "lr": 8e-5,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
}
THRESHOLDS = [round(0.05 * i, 2) for i in range(2, 19)]


@dataclass
class _Windows:
    """Tokenized windows: ids, each token's (start, end) in its text, the text's index."""

    ids: list[list[int]]
    offsets: list[list[tuple[int, int]]]
    text_of: list[int]
    tags: list[list[int]] | None = None


def _token_tag(start: int, end: int, by_char: dict[int, int]) -> int:
    hits: dict[int, int] = {}
    for c in range(start, end):
        t = by_char.get(c)
        if t is not None:
            hits[t] = hits.get(t, 0) + 1
    if not hits or sum(hits.values()) * 2 < end - start:
        return 0
    return max(hits, key=lambda t: hits[t])


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


class TransformerTagger:
    name = "span_transformer"
    kind = "span_tagger"

    def __init__(
        self,
        classes: list[str],
        *,
        seed: int = 0,
        model_path: str | None = None,
        max_length: int = DEFAULTS["max_length"],
        stride: int = DEFAULTS["stride"],
        epochs: int = DEFAULTS["epochs"],
        batch_size: int = DEFAULTS["batch_size"],
        lr: float = DEFAULTS["lr"],
        weight_decay: float = DEFAULTS["weight_decay"],
        warmup_ratio: float = DEFAULTS["warmup_ratio"],
        threshold: float | None = None,
        device: str | None = None,
    ) -> None:
        from classifiers.backends.transformer import _pick_device, default_model_path

        if stride < 0:
            raise TypeError("stride must not be negative")
        self.classes = list(classes)
        self.seed = seed
        self.params: dict[str, Any] = {
            "model_path": model_path or default_model_path(),
            "max_length": int(max_length),
            # Windows share at most a quarter of their tokens.
            "stride": min(int(stride), int(max_length) // 4),
            "epochs": int(epochs),
            "batch_size": int(batch_size),
            "lr": float(lr),
            "weight_decay": float(weight_decay),
            "warmup_ratio": float(warmup_ratio),
            "threshold": None if threshold is None else float(threshold),
        }
        self._device = _pick_device(device)
        self.threshold = 0.5 if threshold is None else float(threshold)
        self.best_epoch = 0
        self.model: Any = None
        self.tokenizer: Any = None
        self.train_seconds = 0.0

    @property
    def device(self) -> str:
        return self._device

    @property
    def tags(self) -> list[str]:
        return ["O", *self.classes]

    def _load(self, path: str, fresh: bool) -> None:
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from core.threads import configured_torch_threads, set_torch_threads

        if threads := configured_torch_threads():
            set_torch_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if not self.tokenizer.is_fast:
            raise ValueError(f"{path}: the tagger needs a fast tokenizer (offset mapping)")
        kwargs: dict[str, Any] = {}
        if fresh:
            kwargs = {
                "num_labels": len(self.tags),
                "id2label": dict(enumerate(self.tags)),
                "label2id": {t: i for i, t in enumerate(self.tags)},
            }
        self.model = AutoModelForTokenClassification.from_pretrained(path, **kwargs)
        self.model.to(self._device)

    def _windows(self, texts: list[str], spans: list[list[dict[str, Any]]] | None) -> _Windows:
        p = self.params
        enc = self.tokenizer(
            texts,
            truncation=True,
            max_length=p["max_length"],
            stride=p["stride"],
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        out = _Windows(enc["input_ids"], [], list(enc["overflow_to_sample_mapping"]))
        for offsets in enc["offset_mapping"]:
            out.offsets.append([(int(a), int(b)) for a, b in offsets])
        if spans is not None:
            index = {label: i + 1 for i, label in enumerate(self.classes)}
            out.tags = []
            for w, offsets in enumerate(out.offsets):
                by_char: dict[int, int] = {}
                for s in spans[out.text_of[w]]:
                    for c in range(s["start"], s["end"]):
                        by_char.setdefault(c, index[s["label"]])
                out.tags.append([-100 if a == b else _token_tag(a, b, by_char) for a, b in offsets])
        return out

    def _batch(self, w: _Windows, rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(w.ids[i]) for i in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            ids[r, : len(w.ids[i])] = torch.tensor(w.ids[i])
            mask[r, : len(w.ids[i])] = 1
        return ids.to(self._device), mask.to(self._device)

    def fit(self, train: SpannedTexts, calibration: SpannedTexts | None = None) -> None:
        import torch

        from classifiers.backends.transformer import _length_batches

        started = time.perf_counter()
        random.seed(self.seed)
        torch.manual_seed(self.seed)
        self._load(self.params["model_path"], fresh=True)
        windows = self._windows(train.texts, train.spans)
        assert windows.tags is not None
        optimizer, scheduler = self._optimizer(len(windows.ids))
        rng = random.Random(self.seed)
        best: tuple[float, dict[str, Any], float] | None = None
        for epoch in range(self.params["epochs"]):
            self.model.train()
            lengths = [len(x) for x in windows.ids]
            for rows in _length_batches(lengths, self.params["batch_size"], rng):
                ids, mask = self._batch(windows, rows)
                width = ids.shape[1]
                tags = torch.full((len(rows), width), -100, dtype=torch.long)
                for r, i in enumerate(rows):
                    tags[r, : len(windows.tags[i])] = torch.tensor(windows.tags[i])
                loss = self.model(
                    input_ids=ids, attention_mask=mask, labels=tags.to(self._device)
                ).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            if calibration is None or not calibration.texts:
                continue
            score, threshold = self._tune(calibration)
            log.info("epoch %d: char F1 %.3f on the calibration slice", epoch + 1, score)
            if best is None or score > best[0]:
                best = (score, copy.deepcopy(self.model.state_dict()), threshold)
                self.best_epoch = epoch + 1
        if best is not None:
            self.model.load_state_dict(best[1])
            if self.params["threshold"] is None:
                self.threshold = best[2]
        self.train_seconds = time.perf_counter() - started

    def _optimizer(self, n: int) -> tuple[Any, Any]:
        from classifiers.backends.transformer import adamw_with_warmup

        return adamw_with_warmup(self.model, self.params, n)

    def _token_scores(self, texts: list[str]) -> list[dict[tuple[int, int], tuple[float, int]]]:
        """Per text: token (start, end) -> (P(harmful), most likely label index)."""
        import torch

        from classifiers.backends.transformer import _length_batches

        w = self._windows(texts, None)
        out: list[dict[tuple[int, int], tuple[float, int]]] = [{} for _ in texts]
        self.model.eval()
        with torch.inference_mode():
            for rows in _length_batches([len(x) for x in w.ids], 64, None):
                ids, mask = self._batch(w, rows)
                proba = torch.softmax(self.model(input_ids=ids, attention_mask=mask).logits, -1)
                proba = proba.float().cpu()
                harmful = (1 - proba[:, :, 0]).tolist()
                label = (proba[:, :, 1:].argmax(-1) + 1).tolist()
                for r, i in enumerate(rows):
                    got = out[w.text_of[i]]
                    for t, (a, b) in enumerate(w.offsets[i]):
                        if a == b:
                            continue
                        # A token in two windows keeps its higher score.
                        if (a, b) not in got or harmful[r][t] > got[(a, b)][0]:
                            got[(a, b)] = (harmful[r][t], label[r][t])
        return out

    def _spans(
        self, text: str, scores: dict[tuple[int, int], tuple[float, int]], threshold: float
    ) -> list[dict[str, Any]]:
        spans: list[dict[str, Any]] = []
        weights: list[list[float]] = []
        for (a, b), (p, tag) in sorted(scores.items()):
            if p < threshold:
                continue
            a, b = _widen(text, a, b)
            label = self.classes[tag - 1]
            last = spans[-1] if spans else None
            if last is not None and last["label"] == label and not text[last["end"] : a].strip():
                last["end"] = max(last["end"], b)
                weights[-1].append(p)
            elif last is not None and a < last["end"]:
                last["end"] = max(last["end"], b)  # a subword of a word already widened
                weights[-1].append(p)
            else:
                spans.append({"start": a, "end": b, "label": label})
                weights.append([p])
        for s, ws in zip(spans, weights, strict=True):
            s["score"] = round(sum(ws) / len(ws), 6)
        return spans

    def _tune(self, cal: SpannedTexts) -> tuple[float, float]:
        """(best character F1, its threshold) on the calibration texts."""
        scores = self._token_scores(cal.texts)
        gold = [char_set(s) for s in cal.spans]
        fixed = self.params["threshold"]
        grid = [fixed] if fixed is not None else THRESHOLDS
        best = (-1.0, 0.5)
        for threshold in grid:
            pred = [
                char_set(self._spans(t, sc, threshold))
                for t, sc in zip(cal.texts, scores, strict=True)
            ]
            f1 = sum(char_f1(p, g) for p, g in zip(pred, gold, strict=True)) / len(gold)
            if f1 > best[0]:
                best = (f1, threshold)
        return best

    def quantize_int8(self) -> bool:
        """Score with int8 Linear layers from now on (CPU only; False on another device)."""
        from classifiers.backends.transformer import quantize_for_cpu

        if self.model is None or self._device != "cpu":
            return False
        self.model = quantize_for_cpu(self.model.eval())
        return True

    def predict_spans(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        if self.model is None:
            raise RuntimeError("the model is not fitted")
        if not texts:
            return []
        scores = self._token_scores(texts)
        return [self._spans(t, sc, self.threshold) for t, sc in zip(texts, scores, strict=True)]

    def save(self, directory: Path) -> None:
        if self.model is None:
            raise RuntimeError("the model is not fitted")
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(directory / MODEL_DIR, safe_serialization=True)
        self.tokenizer.save_pretrained(directory / MODEL_DIR)
        write_meta(
            directory,
            {
                "backend": self.name,
                "kind": self.kind,
                "classes": self.classes,
                "seed": self.seed,
                "params": self.params,
                "threshold": self.threshold,
                "best_epoch": self.best_epoch,
            },
        )

    @classmethod
    def load(cls, directory: Path, device: str | None = None) -> TransformerTagger:
        meta = read_meta(directory)
        tagger = cls(meta["classes"], seed=int(meta["seed"]), device=device, **meta["params"])
        tagger._load(str(directory / MODEL_DIR), fresh=False)
        tagger.threshold = float(meta["threshold"])
        tagger.best_epoch = int(meta.get("best_epoch", 0))
        return tagger

    def hyperparameters(self) -> dict[str, Any]:
        return {**self.params, "threshold": self.threshold, "best_epoch": self.best_epoch}

    def library_versions(self) -> dict[str, str]:
        import torch

        versions = library_versions("torch", "transformers", "tokenizers", "safetensors")
        versions["torch_threads"] = str(torch.get_num_threads())
        return versions
