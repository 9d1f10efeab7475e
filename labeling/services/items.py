"""Writing items: the entry point other apps (generation) use to add outputs to a campaign."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from labeling.models import Campaign, Item
from labeling.services.score_refresh import score_summary_request


@dataclass
class NewItem:
    prompt_id: int
    sample_index: int
    text: str
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str = ""
    latency_ms: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def items_create(
    *,
    campaign: Campaign,
    model_id: int,
    params_hash: str,
    new_items: list[NewItem],
    job_id: int | None = None,
) -> int:
    """Insert outputs; an output already stored for (prompt, model, params, sample) is kept.

    Returns how many rows were new. Safe to call again with the same outputs (a re-run job).
    """
    rows = [
        Item(
            campaign=campaign,
            prompt_id=n.prompt_id,
            model_id=model_id,
            job_id=job_id,
            params_hash=params_hash,
            sample_index=n.sample_index,
            text=n.text,
            prompt_tokens=n.prompt_tokens,
            output_tokens=n.output_tokens,
            finish_reason=n.finish_reason,
            latency_ms=n.latency_ms,
            provenance=n.provenance,
            open_slots=campaign.overlap,
        )
        for n in new_items
    ]
    with transaction.atomic():
        before = Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).count()
        Item.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        after = Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).count()
    return after - before


def existing_samples(
    *, campaign: Campaign, model_id: int, params_hash: str
) -> set[tuple[int, int]]:
    """(prompt_id, sample_index) pairs already generated, so a re-run skips them."""
    return set(
        Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).values_list("prompt_id", "sample_index")
    )


@dataclass(frozen=True)
class ClassifierScore:
    harm_probability: float
    priority: float | None


def items_set_classifier_scores(
    *, campaign: Campaign, version: str, scores: dict[int, ClassifierScore]
) -> int:
    """Store the active classifier version's harm probability and queue priority per item.

    The classifier app calls this after predicting; items of other campaigns are ignored.
    Returns how many items were updated.
    """
    for item_id, score in scores.items():
        if not 0.0 <= score.harm_probability <= 1.0:
            raise ValueError(
                f"item {item_id}: harm probability {score.harm_probability} not in [0, 1]"
            )
    rows = list(Item.objects.filter(campaign=campaign, id__in=list(scores)).only("id"))
    for row in rows:
        s = scores[row.id]
        row.harm_probability = s.harm_probability
        row.priority = 0.0 if s.priority is None else s.priority  # 0: not prioritised
        row.classifier_version = version
    with transaction.atomic():
        Item.objects.bulk_update(
            rows, ["harm_probability", "priority", "classifier_version"], batch_size=500
        )
        # The prediction-powered estimates use these probabilities: refresh the summary.
        score_summary_request(campaign_id=campaign.pk)
    return len(rows)
