"""Score arbitrary texts with any classifier version: a document classifier's class
probabilities, or a span tagger's labeled spans.

`score_texts(version, texts)` is the stable entry point other apps (cleaning jobs) call:

- document classifier: ``{"label": top class, "probabilities": {class: p}}`` per text, the
  classes in the version's order (``version_classes(version)``);
- span tagger: ``{"spans": [{"start", "end", "label", "score"}]}`` per text, code-point offsets
  into the text as given (``text[start:end]`` in Python).

`precision="int8"` scores a transformer version with int8 Linear layers on a CPU worker
(about 2.5x faster, probabilities a few thousandths off; other backends and GPU workers score
as always, and `scoring_precision` says which one a version actually gets).

Loaded models are cached per process (keyed by artifact folder and precision), so a worker
scoring many batches loads each version once. Worker side for torch and scikit-learn
versions; the lexicon tagger is pure Python.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.backends.base import SPAN_TAGGER
from classifiers.models import ClassifierVersion, ScoringRequest

if TYPE_CHECKING:
    from classifiers.backends import ClassifierBackend, SpanTagger

CACHE_SIZE = 4
BATCH = 256
PRECISIONS = ("fp32", "int8")
_cache: OrderedDict[tuple[str, int, str], Any] = OrderedDict()
_lock = threading.Lock()


def version_kind(version: ClassifierVersion) -> str:
    return str(version.run.kind)


def version_classes(version: ClassifierVersion) -> list[str]:
    """The class order of a document classifier's probabilities, or a tagger's span labels."""
    return list(version.run.classes)


def _written_at(path: Path) -> int:
    """The newest modification time of the artifact (a file, or a folder and its files)."""
    times = [path.stat().st_mtime_ns]
    if path.is_dir():
        times += [p.stat().st_mtime_ns for p in path.rglob("*")]
    return max(times)


def loaded_model(version: ClassifierVersion, precision: str = "fp32") -> Any:
    """The version's fitted model, from the per-process cache when it is there."""
    from classifiers.backends import load_any

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
    path = version.run.artifact_path
    if not path:
        raise ValueError(f"version {version.name} has no saved model")
    # Keyed by the artifact's path and modification time: a path written again (a run id
    # reused after a restore, a retrained folder) is loaded afresh, never served stale.
    try:
        key = (path, _written_at(Path(path)), precision)
    except OSError as exc:
        raise ValueError(f"version {version.name}: its saved model is missing") from exc
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    model = load_any(Path(path))
    if precision == "int8":
        quantize = getattr(model, "quantize_int8", None)
        if quantize is not None:
            quantize()
    with _lock:
        _cache[key] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def scoring_precision(version: ClassifierVersion, precision: str) -> str:
    """The precision `score_texts(version, ..., precision)` actually scores with here."""
    if precision != "int8":
        return "fp32"
    model = loaded_model(version, precision)
    quantized = getattr(model, "quantize_int8", None) is not None and model.device == "cpu"
    return "int8" if quantized else "fp32"


def score_texts(
    version: ClassifierVersion, texts: list[str], precision: str = "fp32"
) -> list[dict[str, Any]]:
    """One result per text, in order (see the module docstring for the shapes)."""
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be strings")
    model = loaded_model(version, precision)
    out: list[dict[str, Any]] = []
    if version_kind(version) == SPAN_TAGGER:
        tagger: SpanTagger = model
        for i in range(0, len(texts), BATCH):
            out += [{"spans": spans} for spans in tagger.predict_spans(texts[i : i + BATCH])]
        return out
    backend: ClassifierBackend = model
    classes = version_classes(version)
    for i in range(0, len(texts), BATCH):
        proba = backend.predict_proba(texts[i : i + BATCH])
        for row in proba:
            probs = {c: round(float(row[k]), 6) for k, c in enumerate(classes)}
            out.append({"label": classes[int(row.argmax())], "probabilities": probs})
    return out


MAX_TEXTS = 64
MAX_CHARS = 20_000
# Backends whose models need no numpy, scikit-learn or torch: scored within the request.
IN_PROCESS = ("span_lexicon",)


def check_texts(texts: Any) -> list[str]:
    """A non-empty list of at most MAX_TEXTS strings of at most MAX_CHARS characters each."""
    from core.errors import DomainError

    if not isinstance(texts, list) or not texts:
        raise DomainError("must be a non-empty list of strings", field="texts")
    if len(texts) > MAX_TEXTS:
        raise DomainError(
            f"at most {MAX_TEXTS} texts per request (use manage.py score_texts for a file)",
            field="texts",
        )
    errors: dict[str, list[str]] = {}
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            errors[f"texts.{i}"] = ["must be a string"]
        elif len(t) > MAX_CHARS:
            errors[f"texts.{i}"] = [f"longer than {MAX_CHARS} characters"]
    if errors:
        raise DomainError("the texts are not valid", errors=errors)
    return list(texts)


def scoring_request_create(
    *, version: ClassifierVersion, texts: Any, user: Any = None
) -> ScoringRequest:
    """Store the request; score it now (lexicon) or on a worker after the commit."""
    from django.db import transaction

    from core.errors import DomainError

    cleaned = check_texts(texts)
    if not version.run.artifact_path:
        raise DomainError("this version has no saved model", field="version")
    req = ScoringRequest.objects.create(
        version=version,
        requested_by=user if user is not None and user.is_authenticated else None,
        texts=cleaned,
    )
    if version.run.backend in IN_PROCESS:
        scoring_request_execute(req.pk)
        req.refresh_from_db()
    else:
        from classifiers.tasks import score_request

        queue = "gpu" if version.run.backend in ("transformer", "span_transformer") else "default"
        transaction.on_commit(lambda: score_request.apply_async(args=(req.pk,), queue=queue))
    return req


def scoring_request_execute(request_id: int) -> None:
    """Score a queued request; a failure is recorded on it. Safe to re-run."""
    from django.utils import timezone

    req = (
        ScoringRequest.objects.select_related("version__run")
        .filter(pk=request_id, status=ScoringRequest.Status.QUEUED)
        .first()
    )
    if req is None:
        return
    try:
        results = score_texts(req.version, list(req.texts))
    except Exception as exc:  # the model failed to load or run: say so on the request
        ScoringRequest.objects.filter(pk=request_id).update(
            status=ScoringRequest.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return
    ScoringRequest.objects.filter(pk=request_id).update(
        status=ScoringRequest.Status.SUCCEEDED, results=results, finished_at=timezone.now()
    )
