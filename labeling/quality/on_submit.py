"""What a submit sets off in quality control: a gold answer is scored, any other answer
re-votes its item; both schedule the debounced refit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from labeling.models import Annotation, Campaign, Item
from labeling.quality.consensus import consensus_vote_item, schedule_refit
from labeling.quality.gold import gold_answer_record


def quality_after_submit(
    *,
    annotation: Annotation,
    item: Item,
    campaign: Campaign,
    now: datetime,
    answers: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Called by annotation_submit inside its transaction: keep it to a few indexed queries.

    `answers` are the values of the item's annotations when the caller has them already.
    """
    if item.is_gold:
        gold_answer_record(annotation=annotation, item=item, campaign=campaign, now=now)
    else:
        consensus_vote_item(item=item, campaign=campaign, now=now, answers=answers)
    schedule_refit(campaign.pk)
