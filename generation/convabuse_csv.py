"""ConvAbuse's CSV (Cercas Curry et al., EMNLP 2021; CC BY 4.0): one row per user turn, each of
its 8 annotators' severity as one-hot columns. Read by the real-label demo campaign and by
bench/quality_convabuse.py. No Django: the bench imports it before settings are configured."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

N_ANNOTATORS = 8
SEVERITY = {"1": "not_abusive", "0": "ambiguous", "-1": "mild", "-2": "strong", "-3": "very_strong"}
ABUSIVE = ("mild", "strong", "very_strong")


@dataclass
class Utterance:
    example_id: str
    bot: str
    agent: str
    user: str
    labels: dict[int, str]  # annotator (1..8) -> severity


def label_of(row: dict[str, str], annotator: int) -> str | None:
    """The severity an annotator gave, None when they did not label the row."""
    for code, value in SEVERITY.items():
        cell = row.get(f"Annotator{annotator}_is_abuse.{code}") or ""
        # An annotator who labelled twice has both in one cell ("0, 0"): the first counts.
        if cell.split(",")[0].strip() == "1":
            return value
    return None


def read_utterances(
    paths: Iterable[Path],
    *,
    example_id: Callable[[Path, dict[str, str]], str],
    limit: int | None = None,
) -> list[Utterance]:
    """Rows with a user turn and at least two annotators' labels, in file order."""
    out: list[Utterance] = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                labels = {
                    a: label
                    for a in range(1, N_ANNOTATORS + 1)
                    if (label := label_of(row, a)) is not None
                }
                if len(labels) < 2 or not row["user"].strip():
                    continue
                out.append(
                    Utterance(example_id(path, row), row["bot"], row["agent"], row["user"], labels)
                )
                if limit is not None and len(out) >= limit:
                    return out
    return out
