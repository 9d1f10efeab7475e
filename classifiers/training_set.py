"""Training sets from labels: classes, the fixed slices, sample weights and the snapshot hash."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labeling.quality.selectors import LabeledItem

if TYPE_CHECKING:
    from classifiers.selectors import SpanLabeledItem

# Per class, labels are dealt into slices along this cycle (from a random start): 70% train,
# 10% calibration, 20% evaluation, stratified by construction.
SLICE_CYCLE = (
    "train",
    "eval",
    "train",
    "train",
    "calibration",
    "train",
    "train",
    "eval",
    "train",
    "train",
)


@dataclass
class TrainingSet:
    classes: list[str]
    item_ids: dict[str, list[int]] = field(default_factory=dict)  # slice -> ids
    texts: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, list[int]] = field(default_factory=dict)
    weights: dict[str, list[float]] = field(default_factory=dict)
    labels_sha256: str = ""

    def count(self, slice_name: str) -> int:
        return len(self.item_ids.get(slice_name, []))


def labels_hash(labeled: list[LabeledItem]) -> str:
    canonical = json.dumps(
        [[x.item_id, x.value, round(x.confidence, 6)] for x in sorted(labeled, key=_item_id)],
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _item_id(x: LabeledItem) -> int:
    return x.item_id


def deal_slices(labeled: list[LabeledItem], seed: int) -> dict[int, str]:
    """Slices for items that have none yet: stratified by label, seeded."""
    rng = random.Random(seed)
    by_value: dict[str, list[int]] = {}
    for x in sorted(labeled, key=_item_id):
        by_value.setdefault(x.value, []).append(x.item_id)
    out: dict[int, str] = {}
    for value in sorted(by_value):
        ids = by_value[value]
        rng.shuffle(ids)
        start = rng.randrange(len(SLICE_CYCLE))
        for i, item_id in enumerate(ids):
            out[item_id] = SLICE_CYCLE[(start + i) % len(SLICE_CYCLE)]
    return out


def build_training_set(
    labeled: list[LabeledItem], classes: list[str], slices: dict[int, str]
) -> TrainingSet:
    """Labels whose value is not one of `classes` (a rubric edited since) are left out."""
    index = {c: i for i, c in enumerate(classes)}
    ts = TrainingSet(classes=list(classes))
    kept = [x for x in labeled if x.value in index and x.item_id in slices]
    for name in ("train", "calibration", "eval"):
        rows = [x for x in kept if slices[x.item_id] == name]
        ts.item_ids[name] = [x.item_id for x in rows]
        ts.texts[name] = [x.text for x in rows]
        ts.labels[name] = [index[x.value] for x in rows]
        # A consensus posterior (or the agreeing share) weighs each label: unsure labels
        # count less, as soft labels would, with one class per item.
        ts.weights[name] = [max(x.confidence, 0.05) for x in rows]
    ts.labels_sha256 = labels_hash(kept)
    return ts


@dataclass
class SpanSet:
    """A span tagger's snapshot: per slice the item ids, texts and consensus spans."""

    labels: list[str]
    item_ids: dict[str, list[int]] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    spans: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)
    labels_sha256: str = ""

    def count(self, slice_name: str) -> int:
        return len(self.item_ids.get(slice_name, []))


def span_strata(items: list[SpanLabeledItem]) -> list[LabeledItem]:
    """Stand-ins for deal_slices: an item's stratum is whether its consensus has a span."""
    return [
        LabeledItem(x.item_id, "", "spans" if x.spans else "none", x.confidence, x.source)
        for x in items
    ]


def build_span_set(
    items: list[SpanLabeledItem], labels: list[str], slices: dict[int, str]
) -> SpanSet:
    """Spans whose label is not among `labels` (a rubric edited since) are left out."""
    known = set(labels)
    ss = SpanSet(labels=list(labels))
    kept = [x for x in items if x.item_id in slices]
    for name in ("train", "calibration", "eval"):
        rows = [x for x in kept if slices[x.item_id] == name]
        ss.item_ids[name] = [x.item_id for x in rows]
        ss.texts[name] = [x.text for x in rows]
        ss.spans[name] = [[s for s in x.spans if s["label"] in known] for x in rows]
    canonical = json.dumps(
        [[x.item_id, [[s["start"], s["end"], s["label"]] for s in x.spans]] for x in kept],
        separators=(",", ":"),
    )
    ss.labels_sha256 = hashlib.sha256(canonical.encode()).hexdigest()
    return ss
