"""The active version's predictions for every item, and the queue priorities they give."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from classifiers.models import ClassifierVersion, Prediction
from classifiers.selectors import primary_target
from labeling.campaigns.services import ClassifierScore, items_set_classifier_scores
from labeling.models import Campaign
from labeling.quality.selectors import item_texts_in_batches, positive_values

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from classifiers.backends import ClassifierBackend

BATCH = 512


def positive_probability(
    proba: NDArray[np.float64], classes: list[str], positive: list[str]
) -> NDArray[np.float64]:
    """P(a positive value), e.g. P(unsafe); the top class's probability when none is named."""
    cols = [i for i, c in enumerate(classes) if c in positive]
    out: NDArray[np.float64] = proba[:, cols].sum(axis=1) if cols else proba.max(axis=1)
    return out.clip(0.0, 1.0)


def publish_predictions(
    version: ClassifierVersion,
    backend: ClassifierBackend,
    *,
    out_of_fold: dict[int, list[float]] | None = None,
) -> int:
    """Predict every item of the campaign in batches; store them with the version; for the
    primary target, put P(positive) and the priority on the items.

    `out_of_fold` holds, for the items the version trained on, class probabilities from fold
    models that did not see them: they are stored beside the full model's prediction and are
    what the prediction-powered estimate uses for those items.
    """
    from classifiers.active_learning import priorities

    campaign = Campaign.objects.select_related("rubric").get(pk=version.campaign_id)
    classes = version.run.classes
    positive = positive_values(campaign, version.target)
    # Labels per class in the snapshot: the balancer's view of what is rare so far.
    counts = [int(version.run.label_counts.get(c, 0)) for c in classes]
    on_items = version.target == primary_target(campaign)
    Prediction.objects.filter(version=version).delete()  # a re-run replaces, never duplicates
    total = 0
    for batch in item_texts_in_batches(campaign=campaign, batch_size=BATCH):
        ids = [i for i, _ in batch]
        proba = backend.predict_proba([t for _, t in batch])
        p_pos = positive_probability(proba, classes, positive)
        prio = priorities(proba, counts)
        oof = _positive_out_of_fold(ids, out_of_fold, classes, positive)
        rows = [
            Prediction(
                version=version,
                item_id=item_id,
                label=classes[int(proba[r].argmax())],
                probabilities={c: round(float(proba[r, k]), 6) for k, c in enumerate(classes)},
                positive_probability=float(p_pos[r]),
                out_of_fold_probability=oof.get(item_id),
                priority=float(prio[r]),
            )
            for r, item_id in enumerate(ids)
        ]
        with transaction.atomic():
            Prediction.objects.bulk_create(rows, batch_size=BATCH)
            if on_items:
                items_set_classifier_scores(
                    campaign=campaign,
                    version=version.name,
                    scores={
                        i: ClassifierScore(float(p_pos[r]), float(prio[r]), oof.get(i))
                        for r, i in enumerate(ids)
                    },
                )
        total += len(rows)
    ClassifierVersion.objects.filter(pk=version.pk).update(n_predictions=total)
    return total


def _positive_out_of_fold(
    ids: list[int],
    out_of_fold: dict[int, list[float]] | None,
    classes: list[str],
    positive: list[str],
) -> dict[int, float]:
    """P(positive) from the out-of-fold class probabilities, for the ids that have them."""
    import numpy as np

    if not out_of_fold:
        return {}
    have = [i for i in ids if i in out_of_fold]
    if not have:
        return {}
    proba = np.array([out_of_fold[i] for i in have], dtype=float)
    p_pos = positive_probability(proba, classes, positive)
    return {i: float(p_pos[r]) for r, i in enumerate(have)}
