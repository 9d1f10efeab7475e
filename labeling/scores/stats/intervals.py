"""Closed-form intervals."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n; (0, 1) when there is nothing to go on."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At the edges the exact bound is 0 or 1; floating point would put it a hair inside.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def normal_interval(
    estimate: float, variance: float, *, z: float = Z95, bounds: tuple[float, float] | None = None
) -> tuple[float, float]:
    """estimate ± z·sqrt(variance), clipped to `bounds` (a rate cannot leave [0, 1]). Both ends
    are clipped into the bounds, so low <= high even when the whole interval lies outside them
    (it then collapses onto the nearer bound; callers that must not serve that check first)."""
    half = z * math.sqrt(max(variance, 0.0))
    low, high = estimate - half, estimate + half
    if bounds is not None:
        low = min(max(bounds[0], low), bounds[1])
        high = max(min(bounds[1], high), bounds[0])
    return (low, high)
