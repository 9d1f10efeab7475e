"""Ranks that do not pretend to more precision than the intervals have."""

from __future__ import annotations

from collections.abc import Sequence


def shared_ranks(
    intervals: Sequence[tuple[float | None, float | None]], *, higher_is_better: bool
) -> list[int | None]:
    """Rank = 1 + the number of models clearly better (Chatbot Arena's rule).

    A model is clearly better than another when their 95% intervals do not overlap, so models
    whose intervals overlap can share a rank. A model without an interval gets no rank and
    counts for nobody.
    """
    known = [(lo, hi) for lo, hi in intervals if lo is not None and hi is not None]
    ranks: list[int | None] = []
    for low, high in intervals:
        if low is None or high is None:
            ranks.append(None)
            continue
        if higher_is_better:
            better = sum(1 for other_low, _ in known if other_low > high)
        else:
            better = sum(1 for _, other_high in known if other_high < low)
        ranks.append(1 + better)
    return ranks
