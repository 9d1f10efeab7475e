"""Serialising export rows: JSONL and CSV as byte streams, Parquet and a `datasets` folder as
files written batch by batch. pyarrow and datasets are imported only when used.

Every writer encodes a lone surrogate stored before inputs were checked as U+FFFD (UTF-8 has no
encoding for it); `manage.py repair_text` repairs the stored value itself."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from core.text import has_lone_surrogate, scrub, utf8
from labeling.exports.rows import flat

BATCH = 5000


def jsonl_stream(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    buffer: list[str] = []
    for row in rows:
        buffer.append(json.dumps(row, ensure_ascii=False))
        if len(buffer) >= 500:
            yield utf8("\n".join(buffer) + "\n")
            buffer = []
    if buffer:
        yield utf8("\n".join(buffer) + "\n")


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell: text a spreadsheet would run as a formula gets a leading single quote, which
    spreadsheets show as text. Numbers stay numbers; JSONL and Parquet keep the text exact."""
    cell = flat(value)
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


def csv_stream(rows: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for i, row in enumerate(rows, 1):
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
        if i % 500 == 0:
            yield utf8(out.getvalue())
            out.seek(0)
            out.truncate()
    yield utf8(out.getvalue())


def _cell(value: Any) -> Any:
    """A Parquet cell: Arrow refuses strings UTF-8 cannot encode (a lone surrogate stored before
    inputs were checked), so those are scrubbed to U+FFFD."""
    cell = flat(value)
    return scrub(cell) if isinstance(cell, str) and has_lone_surrogate(cell) else cell


def _arrow_schema(columns: list[str], schema: dict[str, Any]) -> Any:
    import pyarrow as pa

    types: dict[str, Any] = {
        "annotation_id": pa.int64(),
        "item_id": pa.int64(),
        "prompt_id": pa.int64(),
        "is_gold": pa.bool_(),
        "harm_probability": pa.float64(),
        "annotator": pa.int64(),
        "time_spent_ms": pa.int64(),
    }
    for dim in schema["dimensions"]:
        if dim["type"] == "likert":
            types[dim["name"]] = pa.int64()
            types[f"consensus_{dim['name']}"] = pa.float64()
    return pa.schema([(c, types.get(c, pa.string())) for c in columns])


def _batches(rows: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[dict[str, list[Any]]]:
    batch: dict[str, list[Any]] = {c: [] for c in columns}
    n = 0
    for row in rows:
        for c in columns:
            batch[c].append(_cell(row.get(c)))
        n += 1
        if n >= BATCH:
            yield batch
            batch, n = {c: [] for c in columns}, 0
    if n:
        yield batch


def parquet_write(
    rows: Iterable[dict[str, Any]], path: Path, columns: list[str], schema: dict[str, Any]
) -> int:
    """Write batch by batch with ParquetWriter; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_schema = _arrow_schema(columns, schema)
    total = 0
    with pq.ParquetWriter(path, arrow_schema) as writer:
        for batch in _batches(rows, columns):
            writer.write_table(pa.Table.from_pydict(batch, schema=arrow_schema))
            total += len(batch[columns[0]])
    return total


def hf_dataset_save(
    rows_factory: Any, path: Path, columns: list[str], schema: dict[str, Any], workdir: Path
) -> int:
    """A `datasets` folder (save_to_disk) built from a Parquet file written batch by batch,
    so the rows are never all in memory; `rows_factory()` yields the rows."""
    from datasets import Dataset, Features

    parquet = workdir / "rows.parquet"
    n = parquet_write(rows_factory(), parquet, columns, schema)
    if n == 0:
        # from_parquet refuses a file without rows; an empty export is an empty dataset.
        features = Features.from_arrow_schema(_arrow_schema(columns, schema))
        dataset = Dataset.from_dict({c: [] for c in columns}, features=features)
    else:
        loaded = Dataset.from_parquet(str(parquet), cache_dir=str(workdir / "cache"))
        assert isinstance(loaded, Dataset)
        dataset = loaded
    # Without rows, save_to_disk writes no shard at all, which load_from_disk then refuses.
    dataset.save_to_disk(str(path), num_shards=1 if n == 0 else None)
    return n
