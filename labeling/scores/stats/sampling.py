"""Which labeled items form a uniform sample, from the queue's sampling record.

The queue leases items in one of two orders (labeling/queue): the fixed random order (each
item's `random_key`, drawn independently of its content) or the active learner's priority.
Either way it first finishes items others started, so an item is *chosen* by its first lease,
and the record keeps, per item, which order made that first pick (`first_pick`).

The random order walks the keys upwards: when it starts an item with key k, every item with a
smaller key has already been started (by the random order before it, or by the priority order
out of turn). So the items with keys up to the random order's frontier K — the largest key it
started — are a prefix of a random permutation, a uniform sample of the campaign and of every
slice of it, whatever the priority order did elsewhere. Labels inside the prefix count however
they were picked; labels outside it (picked by priority) do not count as a sample, but may
still be predicted as unlabeled items. Items of the prefix still being labeled are missing at
random (their absence depends on timing, not content).

This is the "random-share" estimator (Zrnic & Candes, "Active statistical inference", ICML
2024, discuss both it and inverse-probability weighting): with a random share r of picks the
sample is about r times the labels, so its intervals are wider than a uniform campaign's but
valid. Inverse-probability weighting over all labels needs every item's inclusion probability,
which a deterministic priority order does not have; it is not served.

Pure numpy; no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

UNRECORDED = ""
RANDOM = "random"


@dataclass(frozen=True)
class SampleDesign:
    """The uniform sample the record allows, or why there is none (`reason`)."""

    in_sample: npt.NDArray[np.bool_] | None
    frontier: float | None
    n_random_first: int
    n_priority_first: int
    n_unrecorded: int
    reason: str | None


def random_prefix(
    random_key: npt.ArrayLike, first_pick: npt.ArrayLike, started: npt.ArrayLike
) -> SampleDesign:
    """The random order's prefix over all of a campaign's (non-gold) items.

    `first_pick` is each item's recorded first pick ("" when none is recorded), `started`
    whether the item was ever leased (a label, or a recorded pick). An item started without a
    record was leased before the record existed: the prefix cannot be told, so no sample.
    """
    keys = np.asarray(random_key, dtype=float)
    picks = np.asarray(first_pick, dtype=object)
    started_arr = np.asarray(started, dtype=bool) | (picks != UNRECORDED)
    unrecorded = int((started_arr & (picks == UNRECORDED)).sum())
    by_random = picks == RANDOM
    n_random, n_priority = int(by_random.sum()), int((picks == "priority").sum())
    if unrecorded:
        return SampleDesign(
            None,
            None,
            n_random,
            n_priority,
            unrecorded,
            f"{unrecorded} item(s) were leased before the queue recorded how it picked items, "
            "so which labels form a uniform sample cannot be told",
        )
    if not by_random.any():
        return SampleDesign(
            None,
            None,
            n_random,
            n_priority,
            0,
            "no item was chosen by the queue's random order yet (random share 0?), so no "
            "labels form a uniform sample",
        )
    frontier = float(keys[by_random].max())
    return SampleDesign(keys <= frontier, frontier, n_random, n_priority, 0, None)


__all__ = ["RANDOM", "UNRECORDED", "SampleDesign", "random_prefix"]
