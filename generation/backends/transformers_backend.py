"""Generation with Hugging Face transformers (worker processes only: imports torch)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList

from core.threads import CoreLender, set_torch_threads
from generation.backends.base import DecodingParams, GeneratedOutput, ModelLoadError

_CHUNK = 1 << 20
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class _Prepared:
    index: int
    prompt: str
    text: str
    ids: list[int]


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split()) or "no message"
    if len(message) > _MAX_MESSAGE:
        # transformers appends long upgrade advice; the job's error field needs the cause.
        message = message[: _MAX_MESSAGE - 1] + "…"
    return f"{type(exc).__name__}: {message}"


def _feed(digest: hashlib._Hash, file: Path) -> None:
    with file.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)


def _file_revision(file: Path) -> str:
    """The plain sha256 of one file, so it matches `sha256sum` and the publisher's checksum."""
    digest = hashlib.sha256()
    _feed(digest, file)
    return f"sha256:{digest.hexdigest()}"


def _hash_files(files: list[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for file in files:
        # Names go in too, so renaming a shard or swapping two shards changes the revision.
        digest.update(str(file.relative_to(base)).encode() + b"\0")
        _feed(digest, file)
    return f"sha256:{digest.hexdigest()}"


def _git_commit(folder: Path) -> str | None:
    head = folder / ".git" / "HEAD"
    if not head.is_file():
        return None
    ref = head.read_text().strip()
    if not ref.startswith("ref: "):
        return ref if _COMMIT_RE.match(ref) else None
    ref_file = folder / ".git" / ref[5:]
    if ref_file.is_file():
        return ref_file.read_text().strip()
    return None


def _folder_revision(folder: Path) -> str:
    """A commit hash when the folder knows one, else a content hash of weights and config."""
    config = json.loads((folder / "config.json").read_text())
    commit = config.get("_commit_hash") or _git_commit(folder)
    # A Hugging Face cache snapshot folder is named after its commit.
    if not commit and folder.parent.name == "snapshots" and _COMMIT_RE.match(folder.name):
        commit = folder.name
    if commit:
        return str(commit)
    files = sorted(
        f for f in folder.rglob("*") if f.is_file() and f.name.endswith(_WEIGHT_SUFFIXES)
    )
    return _hash_files([*files, folder / "config.json"], folder)


def _locate(path: str) -> tuple[Path, str | None]:
    """The folder to load from and the gguf file name inside it (None for a HF folder)."""
    target = Path(path).expanduser()
    if not target.exists():
        raise ModelLoadError(f"cannot load model from {path}: no such file or folder")
    if target.is_file():
        if target.suffix != ".gguf":
            raise ModelLoadError(f"cannot load model from {path}: not a folder or a .gguf file")
        return target.parent.resolve(), target.name
    if not (target / "config.json").is_file():
        raise ModelLoadError(f"cannot load model from {path}: folder has no config.json")
    return target.resolve(), None


def _first_eos(new_ids: list[int], eos_ids: set[int]) -> int | None:
    return next((i for i, token in enumerate(new_ids) if token in eos_ids), None)


def count_output(new_ids: list[int], eos_ids: set[int]) -> tuple[int, str]:
    """Generated tokens up to and including the first eos, and the finish reason."""
    stop = _first_eos(new_ids, eos_ids)
    if stop is None:
        # Without an eos the row ran to the end: nothing after it is padding.
        return len(new_ids), "length"
    return stop + 1, "stop"


class _Lend(StoppingCriteria):
    """Called by generate() after every step: lets the lender retune torch's threads between
    steps (never inside one). It stops nothing."""

    def __init__(self, lender: CoreLender) -> None:
        self.lender = lender

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        self.lender.adjust()
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


class TransformersBackend:
    engine = "transformers"
    engine_version = transformers.__version__

    def __init__(self, model: Any, tokenizer: Any, *, revision: str, batch_size: int) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.revision = revision
        self.batch_size = batch_size
        self.device = "cuda" if model.device.type == "cuda" else "cpu"
        self.dtype = str(model.dtype).removeprefix("torch.")
        self.eos_ids = self._eos_ids()
        self.lender: CoreLender | None = None

    @classmethod
    def load(
        cls,
        path: str,
        *,
        batch_size: int,
        threads: int | None = None,
        lend_idle_cores: bool = False,
    ) -> TransformersBackend:
        """Load from a folder or .gguf; `threads` sets torch's threads first (None: leave them).

        With `lend_idle_cores`, `threads` is the share this process is guaranteed, and on CPU
        generation also runs on the cores no other process is using (core.threads.CoreLender).
        """
        folder, gguf_file = _locate(path)
        if threads is not None:
            set_torch_threads(threads)
        try:
            backend = cls._load(folder, gguf_file, batch_size=batch_size)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"cannot load model from {path}: {_one_line(exc)}") from exc
        if threads is not None and lend_idle_cores and backend.device == "cpu":
            backend.lender = CoreLender(threads)
        return backend

    @classmethod
    def _load(cls, folder: Path, gguf_file: str | None, *, batch_size: int) -> TransformersBackend:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        cuda = torch.cuda.is_available()
        extra: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
        # The model first: its errors (unknown architecture, bad weights) name the real cause,
        # where a tokenizer failure for the same folder is vaguer.
        # Any: transformers' @wraps on .to() confuses mypy about the bound self.
        model: Any = AutoModelForCausalLM.from_pretrained(
            folder,
            local_files_only=True,
            dtype=torch.bfloat16 if cuda else torch.float32,
            **extra,
        )
        model.to("cuda" if cuda else "cpu")
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(
            folder, local_files_only=True, padding_side="left", **extra
        )
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if tokenizer.pad_token_id is None:
            raise ValueError("tokenizer has neither a pad nor an eos token")
        revision = _file_revision(folder / gguf_file) if gguf_file else _folder_revision(folder)
        return cls(model, tokenizer, revision=revision, batch_size=batch_size)

    def _eos_ids(self) -> set[int]:
        configured = self.model.generation_config.eos_token_id
        if configured is None:
            ids: set[int] = set()
        elif isinstance(configured, int):
            ids = {configured}
        else:
            ids = set(configured)
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids

    def _prepare(self, index: int, prompt: str) -> _Prepared:
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
        else:
            text = prompt
        # The template already holds the special tokens the model expects; adding them again
        # would double a BOS.
        ids = list(
            self.tokenizer(text, add_special_tokens=not self.tokenizer.chat_template)["input_ids"]
        )
        if not ids:
            # generate() needs at least one input token; BOS is what an empty prompt means.
            ids = [self.tokenizer.bos_token_id or self.tokenizer.eos_token_id]
        return _Prepared(index=index, prompt=prompt, text=text, ids=ids)

    def generate(
        self,
        prompts: list[str],
        params: DecodingParams,
        *,
        sample_index: int,
    ) -> Generator[list[GeneratedOutput], None, None]:
        """Yield outputs batch by batch, longest prompts first, padded left."""
        prepared = [self._prepare(i, p) for i, p in enumerate(prompts)]
        # Similar lengths in one batch waste less compute on padding; sorted() is stable, so
        # equal lengths keep prompt order and the batches are reproducible.
        prepared.sort(key=lambda item: -len(item.ids))
        try:
            for start in range(0, len(prepared), self.batch_size):
                batch = prepared[start : start + self.batch_size]
                yield self._run_batch(batch, params, sample_index=sample_index)
        finally:
            # Lent cores stay lent from one batch to the next (a batch that started on the
            # share would run its first interval on it), and go back when the call ends or
            # is abandoned: whatever the process does next, a training run or a refit, runs
            # on its share.
            if self.lender is not None:
                self.lender.release()

    def _generation_kwargs(self, params: DecodingParams) -> dict[str, Any]:
        # Pin every sampling knob so a checkpoint's generation_config.json cannot change decoding
        # behind the recorded params (top_k=0 turns off transformers' default top-50).
        if params.temperature > 0:
            sampling = {"temperature": params.temperature, "top_p": params.top_p, "top_k": 0}
        else:
            # Neutral values: ignored by greedy search, and they keep transformers from warning.
            sampling = {"temperature": 1.0, "top_p": 1.0, "top_k": 50}
        return {
            "max_new_tokens": params.max_new_tokens,
            "do_sample": params.temperature > 0,
            "num_beams": 1,
            "repetition_penalty": 1.0,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": sorted(self.eos_ids) or None,
            **sampling,
        }

    def _pad_left(self, batch: list[_Prepared]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(item.ids) for item in batch)
        pad = self.tokenizer.pad_token_id
        ids = [[pad] * (width - len(item.ids)) + item.ids for item in batch]
        mask = [[0] * (width - len(item.ids)) + [1] * len(item.ids) for item in batch]
        device = self.model.device
        return torch.tensor(ids, device=device), torch.tensor(mask, device=device)

    def _run_batch(
        self, batch: list[_Prepared], params: DecodingParams, *, sample_index: int
    ) -> list[GeneratedOutput]:
        input_ids, attention_mask = self._pad_left(batch)
        seed = params.seed + sample_index
        torch.manual_seed(seed)
        extra: dict[str, Any] = {}
        if self.lender is not None:
            self.lender.reset_used()
            self.lender.adjust()
            extra["stopping_criteria"] = StoppingCriteriaList([_Lend(self.lender)])
        started = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                **self._generation_kwargs(params),
                **extra,
            )
        threads_used = sorted(self.lender.used) if self.lender else [torch.get_num_threads()]
        # tolist() waits for the device, so the wall time covers all of the batch's work.
        new_rows = output[:, input_ids.shape[1] :].tolist()
        latency_ms = (time.perf_counter() - started) * 1000 / len(batch)
        return [
            self._output(
                item,
                new_ids,
                params,
                seed=seed,
                sample_index=sample_index,
                latency_ms=latency_ms,
                threads_used=threads_used,
            )
            for item, new_ids in zip(batch, new_rows, strict=True)
        ]

    def _output(
        self,
        item: _Prepared,
        new_ids: list[int],
        params: DecodingParams,
        *,
        seed: int,
        sample_index: int,
        latency_ms: float,
        threads_used: list[int],
    ) -> GeneratedOutput:
        count, finish_reason = count_output(new_ids, self.eos_ids)
        text = self.tokenizer.decode(new_ids[:count], skip_special_tokens=True)
        return GeneratedOutput(
            prompt_index=item.index,
            sample_index=sample_index,
            text=text,
            prompt_tokens=len(item.ids),
            output_tokens=count,
            finish_reason=finish_reason,
            latency_ms=latency_ms,
            provenance=self._provenance(
                item, params, seed=seed, sample_index=sample_index, threads_used=threads_used
            ),
        )

    def _provenance(
        self,
        item: _Prepared,
        params: DecodingParams,
        *,
        seed: int,
        sample_index: int,
        threads_used: list[int],
    ) -> dict[str, Any]:
        return {
            "model_revision": self.revision,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "torch_version": torch.__version__,
            # Thread count can change the order of float reductions, so it is part of the setup:
            # the most threads any step of this output's batch ran on, and every count used
            # (more than one when idle cores were lent mid-batch).
            "torch_threads": threads_used[-1],
            "torch_threads_used": threads_used,
            "dtype": self.dtype,
            "device": self.device,
            "batch_size": self.batch_size,
            "padding_side": "left",
            "chat_template_applied": bool(self.tokenizer.chat_template),
            "decoding": params.as_dict(),
            "seed": seed,
            "sample_index": sample_index,
            "prompt_sha256": hashlib.sha256(item.prompt.encode()).hexdigest(),
            "input_sha256": hashlib.sha256(item.text.encode()).hexdigest(),
        }
