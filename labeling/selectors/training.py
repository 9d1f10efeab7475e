"""The read side the harm classifier uses: items' texts and their labels on one dimension.

A label is the item's Consensus on the dimension where there is one (the quality models'
output, with its confidence); where there is none yet, the majority of the submitted
annotations' values (ties give no label). Only string values (choice dimensions) are labels.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labeling.models import Annotation, Campaign, Consensus, Item

MAJORITY_FALLBACK = "annotation_majority"


@dataclass(frozen=True)
class LabeledItem:
    item_id: int
    text: str
    value: str
    confidence: float  # the consensus posterior of `value`, or the share of agreeing annotators
    source: str  # the consensus method, or MAJORITY_FALLBACK


def choice_dimensions(campaign: Campaign) -> dict[str, list[str]]:
    """Choice dimensions of the campaign's rubric: name -> option values, in rubric order."""
    out: dict[str, list[str]] = {}
    for dim in campaign.rubric.schema.get("dimensions", []):
        if dim.get("type") == "choice":
            out[dim["name"]] = [str(o["value"]) for o in dim.get("options", [])]
    return out


def _majority(values: list[Any]) -> tuple[str, float] | None:
    labels = [v for v in values if isinstance(v, str)]
    if not labels:
        return None
    ranked = Counter(labels).most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0], ranked[0][1] / len(labels)


def _labels(
    campaign: Campaign, dimension: str, *, with_text: bool
) -> dict[int, tuple[str, str, float, str]]:
    """item id -> (text, value, confidence, source); texts left empty unless asked for."""
    out: dict[int, tuple[str, str, float, str]] = {}
    text_field = "item__text" if with_text else "dimension"  # a cheap stand-in column
    rows = Consensus.objects.filter(campaign=campaign, dimension=dimension).values_list(
        "item_id", text_field, "value", "confidence", "method"
    )
    for item_id, text, value, confidence, method in rows:
        if isinstance(value, str):
            out[item_id] = (text if with_text else "", value, float(confidence), method)
    votes: dict[int, list[Any]] = defaultdict(list)
    texts: dict[int, str] = {}
    annotations = (
        Annotation.objects.filter(item__campaign=campaign)
        .exclude(item__consensus__dimension=dimension)
        .values_list("item_id", "item__text" if with_text else "item_id", "values")
    )
    for item_id, text, values in annotations:
        if isinstance(values, dict) and dimension in values:
            votes[item_id].append(values[dimension])
            texts[item_id] = text if with_text else ""
    for item_id, values_of_item in votes.items():
        found = _majority(values_of_item)
        if found is not None and item_id not in out:
            out[item_id] = (texts[item_id], found[0], found[1], MAJORITY_FALLBACK)
    return out


def labeled_items(*, campaign: Campaign, dimension: str) -> list[LabeledItem]:
    """Every item of the campaign with a label on `dimension`, by item id (two queries)."""
    found = _labels(campaign, dimension, with_text=True)
    return [LabeledItem(i, *found[i]) for i in sorted(found)]


def labeled_item_ids(*, campaign: Campaign, dimension: str) -> set[int]:
    """The ids of labeled_items, without reading the texts (two queries)."""
    return set(_labels(campaign, dimension, with_text=False))


def item_texts_in_batches(
    *, campaign: Campaign, batch_size: int = 512
) -> Iterator[list[tuple[int, str]]]:
    """(id, text) of every item of the campaign, gold included, in id order, a batch per query."""
    last = 0
    while True:
        batch = list(
            Item.objects.filter(campaign=campaign, id__gt=last)
            .order_by("id")
            .values_list("id", "text")[:batch_size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def positive_values(campaign: Campaign, dimension: str) -> list[str]:
    """The values the rubric names as the dimension's positive outcome (harm: unsafe)."""
    for dim in campaign.rubric.schema.get("dimensions", []):
        if dim.get("name") == dimension:
            return [str(v) for v in dim.get("positive", [])]
    return []
