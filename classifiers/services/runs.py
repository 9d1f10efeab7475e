"""Starting training runs: by an admin, or every `campaign.retrain_every` new labels."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from classifiers.backends.base import DOCUMENT, SPAN_TAGGER, backend_kind
from classifiers.models import TrainingRun
from classifiers.selectors import primary_target, span_dimensions, span_labeled_item_ids
from core.errors import DomainError
from labeling.models import Campaign
from labeling.quality.selectors import choice_dimensions, labeled_item_ids

log = logging.getLogger(__name__)

MIN_LABELS = 20
# A run queued or running this long lost its worker (killed, or its message dropped): it is
# marked failed so that it no longer blocks the next run for its target.
DEAD_AFTER = timedelta(hours=12)
DEFAULT_SEED = 13
# Hyperparameters an admin may set through the API, with their types and bounds. A transformer's
# model_path names a folder on the workers, so it comes from settings, never from a request.
HYPERPARAMETERS: dict[str, dict[str, tuple[type, float, float]]] = {
    "tfidf_logreg": {
        "crossfit_folds": (int, 2, 20),
        "C": (float, 1e-4, 1e4),
        "min_df": (int, 1, 100),
        "max_features": (int, 1000, 2_000_000),
        "max_iter": (int, 10, 10_000),
    },
    "transformer": {
        "crossfit_folds": (int, 2, 20),
        "epochs": (int, 1, 20),
        "max_length": (int, 8, 512),
        "batch_size": (int, 1, 256),
        "lr": (float, 1e-7, 1e-2),
    },
    "span_lexicon": {
        "max_n": (int, 1, 2),
        "smoothing": (float, 0.0, 100.0),
        "min_count": (int, 1, 1000),
        "threshold": (float, 0.0, 1.0),
    },
    "span_transformer": {
        "epochs": (int, 1, 20),
        "max_length": (int, 16, 512),
        "batch_size": (int, 1, 256),
        "lr": (float, 1e-7, 1e-2),
        "threshold": (float, 0.0, 1.0),
    },
}


def validate_hyperparameters(backend: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DomainError("must be an object", field="hyperparameters")
    allowed = HYPERPARAMETERS[backend]
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in allowed:
            errors[f"hyperparameters.{key}"] = [f"not a hyperparameter of {backend}"]
            continue
        kind, lo, hi = allowed[key]
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is int and not isinstance(value, int):
            ok_type = False
        if not ok_type:
            errors[f"hyperparameters.{key}"] = [
                f"must be {'an integer' if kind is int else 'a number'}"
            ]
        elif not lo <= value <= hi:
            errors[f"hyperparameters.{key}"] = [f"must be between {lo:g} and {hi:g}"]
        else:
            out[key] = kind(value)
    if errors:
        raise DomainError("the hyperparameters are not valid", errors=errors)
    return out


def expire_dead_runs(campaign: Campaign, target: str) -> int:
    cutoff = timezone.now() - DEAD_AFTER
    return TrainingRun.objects.filter(
        Q(status=TrainingRun.Status.QUEUED, created_at__lt=cutoff)
        | Q(status=TrainingRun.Status.RUNNING, started_at__lt=cutoff),
        campaign=campaign,
        target=target,
    ).update(
        status=TrainingRun.Status.FAILED,
        error=f"no result after {DEAD_AFTER}: its worker is taken to be gone",
        finished_at=timezone.now(),
    )


def _enqueue(run_id: int) -> None:
    from classifiers.tasks import train_run

    transaction.on_commit(lambda: train_run.delay(run_id))


def _check_target(campaign: Campaign, target: str, kind: str = DOCUMENT) -> list[str]:
    """The target's classes (span labels for a tagger); a target of the wrong type is a 400."""
    if kind == SPAN_TAGGER:
        dims = span_dimensions(campaign)
        what = "a spans dimension"
    else:
        dims = choice_dimensions(campaign)
        what = "a choice dimension"
    if target not in dims:
        raise DomainError(
            f"not {what} of this campaign's rubric (one of: {', '.join(dims) or 'none'})",
            field="target",
        )
    return dims[target]


def labeled_count(campaign: Campaign, target: str, kind: str = DOCUMENT) -> int:
    if kind == SPAN_TAGGER:
        return len(span_labeled_item_ids(campaign=campaign, dimension=target))
    return len(labeled_item_ids(campaign=campaign, dimension=target))


def training_run_request(
    *,
    campaign: Campaign,
    target: str,
    backend: str,
    user: User | None = None,
    hyperparameters: dict[str, Any] | None = None,
    trigger: str = TrainingRun.Trigger.MANUAL,
    seed: int = DEFAULT_SEED,
) -> TrainingRun:
    """Queue a training run; refused while another one for the same target is queued or running.

    `hyperparameters` are trusted here (services and tests may name a model_path); the API
    passes them through validate_hyperparameters first.
    """
    if backend not in HYPERPARAMETERS:
        raise DomainError(f"unknown backend; one of {', '.join(HYPERPARAMETERS)}", field="backend")
    kind = backend_kind(backend)
    _check_target(campaign, target, kind)
    n = labeled_count(campaign, target, kind)
    if n < MIN_LABELS:
        raise DomainError(
            f"{n} labeled items on {target}; training needs at least {MIN_LABELS}",
            field="target",
            code="not_enough_labels",
        )
    expire_dead_runs(campaign, target)
    params = dict(hyperparameters or {})
    if backend in ("transformer", "span_transformer") and "model_path" not in params:
        configured = settings.ASSAY_CLASSIFIER_MODEL_PATH
        if configured:
            params["model_path"] = configured
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                campaign=campaign,
                target=target,
                kind=kind,
                backend=backend,
                trigger=trigger,
                requested_by=user if user is not None and user.is_authenticated else None,
                hyperparameters=params,
                seed=seed,
            )
    except IntegrityError as exc:
        raise DomainError(
            f"a training run for {target} is already queued or running",
            field="target",
            code="run_in_progress",
            status_code=409,
        ) from exc
    _enqueue(run.pk)
    return run


def new_labels_since_last_run(campaign: Campaign, target: str) -> int:
    """Labeled items on `target` that no earlier (not failed) run's snapshot contained."""
    seen: set[int] = set()
    last = (
        TrainingRun.objects.filter(campaign=campaign, target=target)
        .exclude(status=TrainingRun.Status.FAILED)
        .exclude(n_labels=0)
        .order_by("-id")
        .first()
    )
    if last is not None:
        seen = {*last.train_item_ids, *last.calibration_item_ids, *last.eval_item_ids}
    if target in span_dimensions(campaign):
        return len(span_labeled_item_ids(campaign=campaign, dimension=target) - seen)
    return len(labeled_item_ids(campaign=campaign, dimension=target) - seen)


def retrain_if_due(campaign_id: int) -> TrainingRun | None:
    """Start an automatic run when `retrain_every` new labels exist since the last snapshot."""
    campaign = Campaign.objects.select_related("rubric").filter(pk=campaign_id).first()
    if campaign is None or campaign.retrain_every == 0:
        return None
    target = primary_target(campaign)
    if target is None:
        return None
    expire_dead_runs(campaign, target)
    busy = TrainingRun.objects.filter(
        campaign=campaign,
        target=target,
        status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING],
    ).exists()
    if busy or new_labels_since_last_run(campaign, target) < campaign.retrain_every:
        return None
    backend = settings.ASSAY_CLASSIFIER_AUTO_BACKEND
    try:
        return training_run_request(
            campaign=campaign, target=target, backend=backend, trigger=TrainingRun.Trigger.AUTO
        )
    except DomainError as exc:
        log.info("campaign %s: no automatic retraining (%s)", campaign_id, exc.message)
        return None
