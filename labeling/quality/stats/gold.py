"""Scoring an annotation against a gold item's expected values (pure, cheap)."""

from __future__ import annotations

from typing import Any

from labeling.quality.stats.votes import char_votes

LIKERT_TOLERANCE = 1  # one scale point either way still counts as right
SPAN_MIN_F1 = 0.5  # character-level F1 an answer's spans need to count as right


def span_f1(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> float:
    """Character-level F1 over (label, character) pairs; two empty answers agree fully."""
    a = {(label, c) for label, cs in char_votes([got]).items() for c in cs}
    b = {(label, c) for label, cs in char_votes([expected]).items() for c in cs}
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    overlap = len(a & b)
    return 2 * overlap / (len(a) + len(b))


def dimension_matches(dim: dict[str, Any], got: Any, expected: Any) -> bool:
    kind = dim["type"]
    if kind == "multi_choice":
        return set(got or []) == set(expected or [])
    if kind == "likert":
        return got is not None and abs(got - expected) <= LIKERT_TOLERANCE
    if kind == "spans":
        return span_f1(got or [], expected or []) >= SPAN_MIN_F1
    return bool(got == expected)


def gold_score(
    schema: dict[str, Any], values: dict[str, Any], expected: dict[str, Any]
) -> tuple[bool, float]:
    """(all expected dimensions matched, share matched). Free-text dimensions are not scored."""
    dims = {d["name"]: d for d in schema["dimensions"]}
    scored = [n for n in expected if n in dims and dims[n]["type"] != "text"]
    if not scored:
        return True, 1.0
    hits = sum(dimension_matches(dims[n], values.get(n), expected[n]) for n in scored)
    return hits == len(scored), hits / len(scored)
