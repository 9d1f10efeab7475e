"""Reading a corpus in shards and writing shard outputs that appear only when complete.

Formats: JSONL (plain or .gz), Parquet, and a Hugging Face `datasets` folder (save_to_disk).
A shard is rows [start, end) in the corpus's order. Outputs mirror the input's format, except
the attributes (every score and span), which are always JSONL: the dolma convention keeps the
cleaned text and its audit trail in separate files.
pyarrow and datasets are imported only when used.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.errors import DomainError

FORMATS = ("jsonl", "jsonl.gz", "parquet", "hf")
READ_BATCH = 1024


def detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "state.json").exists():
            return "hf"
        raise DomainError(
            "the folder is not a Hugging Face datasets folder (no dataset_info.json)",
            field="path",
        )
    name = path.name.lower()
    if name.endswith((".jsonl.gz", ".json.gz", ".ndjson.gz")):
        return "jsonl.gz"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    with path.open("rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b":
        return "jsonl.gz"
    if head == b"PAR1":
        return "parquet"
    return "jsonl"


def input_sha256(path: Path) -> tuple[str, int]:
    """(sha256, bytes) of the file, or of a folder's files in name order."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    size = 0
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode() + b"\0")
        with f.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
                size += len(block)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class ShardPlan:
    start: int
    end: int
    byte_offset: int | None


def _jsonl_offsets(path: Path, shard_size: int) -> tuple[int, list[int]]:
    """(rows, the byte offset of every shard's first row); blank lines are no rows."""
    rows, offsets, pos = 0, [], 0
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                if rows % shard_size == 0:
                    offsets.append(pos)
                rows += 1
            pos += len(line)
    return rows, offsets


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "jsonl":
        return _jsonl_offsets(path, 1 << 62)[0]
    if fmt == "jsonl.gz":
        with gzip.open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    return len(_load_hf(path))


def plan_shards(path: Path, fmt: str, shard_size: int) -> tuple[int, list[ShardPlan]]:
    if fmt == "jsonl":
        total, offsets = _jsonl_offsets(path, shard_size)
        return total, [
            ShardPlan(n * shard_size, min(total, (n + 1) * shard_size), off)
            for n, off in enumerate(offsets)
        ]
    total = count_rows(path, fmt)
    return total, [
        ShardPlan(s, min(total, s + shard_size), None) for s in range(0, total, shard_size)
    ]


def _load_hf(path: Path) -> Any:
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if len(ds) != 1:
            raise DomainError(
                f"the datasets folder holds {len(ds)} splits ({', '.join(ds)}); "
                "point at one split's folder",
                field="path",
            )
        ds = next(iter(ds.values()))
    return ds


def _parse_line(line: bytes, row: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        return {"__invalid__": f"row {row}: not JSON"}
    if not isinstance(record, dict):
        return {"__invalid__": f"row {row}: not a JSON object"}
    return record


def _jsonl_rows(fh: IO[bytes], start: int, end: int, skip: int) -> Iterator[list[dict[str, Any]]]:
    row, batch = start - skip, []
    for line in fh:
        if not line.strip():
            continue
        if skip:
            skip -= 1
            row += 1
            continue
        if row >= end:
            break
        batch.append(_parse_line(line, row))
        row += 1
        if len(batch) == READ_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def read_rows(
    path: Path, fmt: str, start: int, end: int, byte_offset: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Batches of the records of rows [start, end)."""
    if fmt == "jsonl":
        with path.open("rb") as fh:
            if byte_offset is not None:
                fh.seek(byte_offset)
                yield from _jsonl_rows(fh, start, end, 0)
            else:
                yield from _jsonl_rows(fh, start, end, start)
    elif fmt == "jsonl.gz":
        with gzip.open(path, "rb") as gz:
            yield from _jsonl_rows(io.BufferedReader(gz), start, end, start)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pos = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH):
            n = batch.num_rows
            if pos + n > start and pos < end:
                lo, hi = max(start - pos, 0), min(end - pos, n)
                yield batch.slice(lo, hi - lo).to_pylist()
            pos += n
            if pos >= end:
                break
    else:
        ds = _load_hf(path)
        for lo in range(start, end, READ_BATCH):
            chunk = ds[lo : min(end, lo + READ_BATCH)]
            keys = list(chunk)
            n = len(chunk[keys[0]]) if keys else 0
            yield [{k: chunk[k][i] for k in keys} for i in range(n)]


def sample_rows(path: Path, fmt: str, n: int) -> list[dict[str, Any]]:
    """The first n rows (the preview's sample: quick on a corpus of any size)."""
    out: list[dict[str, Any]] = []
    for batch in read_rows(path, fmt, 0, n):
        out.extend(batch)
    return out[:n]


def output_suffix(fmt: str) -> str:
    return {"jsonl": ".jsonl", "jsonl.gz": ".jsonl.gz", "parquet": ".parquet", "hf": ""}[fmt]


def _json_default(value: Any) -> Any:
    # Parquet and datasets rows can hold dates, bytes and numpy scalars.
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, default=_json_default)


class ShardOutput:
    """One output of a shard in `fmt`, written under a temporary name and renamed into place
    by commit(): a killed run leaves only a temporary name, which the retry removes."""

    def __init__(self, final: Path, fmt: str) -> None:
        self.final = final
        self.fmt = fmt
        self.tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.rows: list[dict[str, Any]] = []
        self._fh: IO[bytes] | None = None
        self.bytes = 0
        final.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "jsonl":
            self._fh = self.tmp.open("wb")
        elif fmt == "jsonl.gz":
            self._fh = gzip.open(self.tmp, "wb", compresslevel=3)  # type: ignore[assignment]  # noqa: SIM115

    def write(self, records: list[dict[str, Any]]) -> None:
        if self._fh is not None:
            data = "".join(dumps(r) + "\n" for r in records).encode()
            self._fh.write(data)
            self.bytes += len(data)
        else:
            self.rows.extend(records)

    def commit(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno()) if hasattr(self._fh, "fileno") else None
            self._fh.close()
        elif self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(self.rows), self.tmp)
        else:
            import datasets

            datasets.Dataset.from_list(self.rows).save_to_disk(str(self.tmp))
        if self.final.is_dir():
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)

    def discard(self) -> None:
        if self._fh is not None and not self._fh.closed:
            self._fh.close()
        remove_path(self.tmp)


def remove_path(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def discard_partial(directory: Path, stem: str) -> int:
    """Remove what a killed run of the shard left: its temporary outputs."""
    removed = 0
    if not directory.exists():
        return 0
    for sub in directory.iterdir():
        if not sub.is_dir():
            continue
        for p in sub.glob(f".{stem}*.tmp-*"):
            remove_path(p)
            removed += 1
    return removed
