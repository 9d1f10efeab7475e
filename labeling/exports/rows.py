"""One export row per annotation, streamed from the database in chunks.

A row carries the item (prompt, split, category, model, revision, decoding, output), the
annotator's pseudonymous id and values (one column per rubric dimension), and the item's
consensus per dimension. Private prompts are left out unless the caller asks and may see them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from labeling.models import Annotation, Campaign, Consensus

CHUNK = 2000
ITEM_COLUMNS = [
    "annotation_id",
    "item_id",
    "prompt_id",
    "prompt",
    "split",
    "category",
    "model",
    "model_revision",
    "params_hash",
    "decoding",
    "output",
    "is_gold",
    "harm_probability",
    "annotator",
    "time_spent_ms",
    "created_at",
]


def columns(schema: dict[str, Any]) -> list[str]:
    dims = [d["name"] for d in schema["dimensions"]]
    return ITEM_COLUMNS + dims + [f"consensus_{d}" for d in dims]


def annotations_for_export(campaign: Campaign, *, include_private: bool) -> QuerySet[Annotation]:
    qs = Annotation.objects.filter(item__campaign=campaign)
    if not include_private:
        qs = qs.exclude(item__prompt__split="private")
    return qs


_FIELDS = (
    "id",
    "item_id",
    "item__prompt_id",
    "item__prompt__text",
    "item__prompt__split",
    "item__prompt__category",
    "item__model__name",
    "item__model__revision",
    "item__params_hash",
    "item__provenance",
    "item__text",
    "item__is_gold",
    "item__harm_probability",
    "annotator_id",
    "time_spent_ms",
    "created_at",
    "values",
)


def export_rows(campaign: Campaign, *, include_private: bool) -> Iterator[dict[str, Any]]:
    """Rows in (item, annotation) order; memory stays at one chunk whatever the campaign size."""
    dims = [d["name"] for d in campaign.rubric.schema["dimensions"]]
    qs = annotations_for_export(campaign, include_private=include_private).order_by("item_id", "id")
    chunk: list[tuple[Any, ...]] = []
    for row in qs.values_list(*_FIELDS).iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield from _rows_of_chunk(chunk, dims)
            chunk = []
    if chunk:
        yield from _rows_of_chunk(chunk, dims)


def _rows_of_chunk(chunk: list[tuple[Any, ...]], dims: list[str]) -> Iterator[dict[str, Any]]:
    consensus: dict[tuple[int, str], Any] = {
        (item_id, dim): value
        for item_id, dim, value in Consensus.objects.filter(
            item_id__in={r[1] for r in chunk}
        ).values_list("item_id", "dimension", "value")
    }
    for r in chunk:
        provenance = r[9] or {}
        row: dict[str, Any] = dict(zip(ITEM_COLUMNS[:9], r[:9], strict=True))
        row["decoding"] = provenance.get("decoding")
        row.update(
            output=r[10],
            is_gold=r[11],
            harm_probability=r[12],
            annotator=r[13],
            time_spent_ms=r[14],
            created_at=r[15].isoformat(),
        )
        values = r[16] or {}
        for dim in dims:
            row[dim] = values.get(dim)
        for dim in dims:
            row[f"consensus_{dim}"] = consensus.get((r[1], dim))
        yield row


def flat(value: Any) -> Any:
    """A cell for CSV and Parquet: lists and objects as JSON text, scalars as they are."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value
