"""Prompt import: parsing and checking JSONL or CSV rows, streamed from the upload.

Every row is checked before anything is written (labeling.campaigns.services.prompts_import),
and a bad row is reported with its line number, the field (or JSON path) and the reason:
malformed JSON, NaN or Infinity, nesting deeper than core.text.MAX_JSON_DEPTH, lone UTF-16
surrogates and NUL characters (neither can be stored, PostgreSQL refuses NUL), CSV cells over
the csv module's field limit. The file is read as a stream, one row at a time, so a large
upload is never held in memory as a whole (a 50 MB file held 780 MB as lists of rows).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from core.errors import DomainError
from core.text import MAX_JSON_DEPTH, BadInput, check_value
from labeling.models import Prompt

MAX_ROWS = 200_000
MAX_PROMPT_CHARS = 20_000
MAX_REFERENCE_CHARS = 100_000
# A file with thousands of bad rows gets the first ones listed and the rest counted.
MAX_REPORTED = 1000
TEXT_KEYS = ("text", "prompt", "question")
SPLITS = frozenset(Prompt.Split.values)  # the enum builds this list on every access
LIST_SEPARATOR = ";"

Upload = bytes | str | IO[bytes]
Row = tuple[int, dict[str, Any]]  # (line number, raw fields)


@dataclass
class ImportReport:
    created: int = 0
    import_id: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_errors: int = 0

    def add(self, row: int, field_name: str, reason: str) -> None:
        self.n_errors += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append({"row": row, "field": field_name, "reason": reason})


# After a CR that does not start a CRLF: old Mac line ends (a CR-only CSV was one long line,
# which the csv module refused with a 500).
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


@contextlib.contextmanager
def open_lines(data: Upload) -> Iterator[Iterator[str]]:
    """The upload's lines (ends kept: CR, LF or CRLF), decoded one at a time as UTF-8 (a BOM
    is dropped), so a decoding error names its line; the upload can be opened again."""
    if isinstance(data, str):
        yield _split_cr(io.StringIO(data, newline=""))
        return
    raw: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes) else data
    raw.seek(0)
    yield _split_cr(_decoded(raw))


def _decoded(raw: IO[bytes]) -> Iterator[str]:
    encoding = "utf-8-sig"
    for lineno, line in enumerate(raw, start=1):
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DomainError(
                f"the file is not UTF-8 text (line {lineno}, byte {exc.start + 1})", field="file"
            ) from exc
        encoding = "utf-8"


def _split_cr(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        if "\r" in line[:-1]:
            yield from (part for part in _LONE_CR.split(line) if part)
        else:
            yield line


class _Lines:
    """Physical lines, numbered; keeps the lines of the record being read (for naming the
    column of a CSV error)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.count = 0
        self.record: list[str] = []

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.count += 1
            self.record.append(line)
            yield line


def _finite_or_nan(name: str) -> float:
    # NaN / Infinity become floats here so that check_value names the field they are in.
    return float(name.replace("Infinity", "inf"))


def loads_row(line: str) -> Any:
    """One JSONL row, or BadInput. NaN and Infinity come back as floats, for clean_row's
    check_value to name the field they are in (as lone surrogates and deep nesting)."""
    try:
        value = json.loads(line, parse_constant=_finite_or_nan)
    except RecursionError as exc:
        raise BadInput(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise BadInput(f"not valid JSON: {exc}") from exc
    return value


def rows_from_jsonl(stream: Iterator[str], report: ImportReport) -> Iterator[Row]:
    lines = _Lines(stream)
    for line in lines:
        lines.record.clear()
        if not line.strip():
            continue
        try:
            obj = loads_row(line)
        except BadInput as exc:
            report.add(lines.count, exc.path, exc.reason)
            continue
        if not isinstance(obj, dict):
            report.add(lines.count, "", "each line must be a JSON object")
            continue
        yield lines.count, obj


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


def _long_cell(text: str, limit: int) -> int | None:
    """The index of the first cell longer than `limit` in the start of a CSV record."""
    column, length, quoted = 0, 0, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            column, length = column + 1, 0
            continue
        elif ch in "\r\n" and not quoted:
            break
        length += 1
        if length > limit:
            return column
    return None


def _csv_error(exc: csv.Error, header: list[str], lines: _Lines) -> tuple[str, str]:
    limit = csv.field_size_limit()
    if "field larger than field limit" in str(exc):
        column = _long_cell("".join(lines.record), limit)
        name = header[column] if column is not None and column < len(header) else ""
        return name, f"a cell is longer than {limit} characters; the rest of the file was not read"
    return "", f"not valid CSV ({exc}); the rest of the file was not read"


def _reference_columns(row: dict[str, Any]) -> None:
    """TruthfulQA-style columns become reference answers."""
    reference = {}
    for key in ("best_answer", "best answer"):
        if row.get(key):
            reference["best_answer"] = row.pop(key)
    for key, name in (
        ("correct answers", "correct_answers"),
        ("correct_answers", "correct_answers"),
        ("incorrect answers", "incorrect_answers"),
        ("incorrect_answers", "incorrect_answers"),
    ):
        if row.get(key):
            reference[name] = _split_list(row.pop(key))
    if reference:
        row["reference"] = reference


def rows_from_csv(stream: Iterator[str], report: ImportReport) -> Iterator[Row]:
    lines = _Lines(stream)
    reader = csv.reader(lines)
    header: list[str] = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not header:
            report.add(1, "", "the CSV has no header row")
            return
        check_value(header)
        for cells in _records(reader, lines):
            if len(cells) > len(header):
                report.add(lines.count, "", "more cells than header columns")
                continue
            row: dict[str, Any] = {k: "" for k in header}
            row.update((k, v.strip()) for k, v in zip(header, cells, strict=False))
            _reference_columns(row)
            yield lines.count, row
    except csv.Error as exc:
        report.add(lines.count, *_csv_error(exc, header, lines))
    except BadInput as exc:
        report.add(1, "", "a header " + exc.reason)


def _records(reader: Iterable[list[str]], lines: _Lines) -> Iterator[list[str]]:
    lines.record.clear()
    for cells in reader:
        if cells:
            yield cells
        lines.record.clear()


def _nul(value: str) -> bool:
    return "\x00" in value


def _clean_strings(lineno: int, raw: dict[str, Any], report: ImportReport) -> bool:
    """Values no database can store: lone surrogates, NaN, deep nesting, NUL characters."""
    try:
        check_value(raw)
    except BadInput as exc:
        report.add(lineno, exc.path, exc.reason)
        return False
    for key in (*TEXT_KEYS, "category", "id", "external_id", "split"):
        value = raw.get(key)
        if isinstance(value, str) and _nul(value):
            report.add(lineno, key, "contains a NUL character")
            return False
    return True


def clean_row(
    lineno: int, raw: dict[str, Any], report: ImportReport, default_split: str
) -> dict[str, Any] | None:
    if not _clean_strings(lineno, raw, report):
        return None
    before = report.n_errors
    text_key = next((k for k in TEXT_KEYS if k in raw), None)
    text = raw.get(text_key) if text_key else None
    if not isinstance(text, str) or not text.strip():
        report.add(lineno, "text", 'missing or empty (use a "text", "prompt" or "question" field)')
    elif len(text) > MAX_PROMPT_CHARS:
        report.add(lineno, "text", f"longer than {MAX_PROMPT_CHARS} characters")
    split = raw.get("split") or default_split
    if not isinstance(split, str) or split not in SPLITS:
        report.add(lineno, "split", f"{split!r} is not one of public, private"[:300])
    category = raw.get("category", "")
    if not isinstance(category, str) or len(category) > 200:
        report.add(lineno, "category", "must be a string of at most 200 characters")
    external_id = raw.get("id", raw.get("external_id", ""))
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or len(external_id) > 200:
        report.add(lineno, "id", "must be a string of at most 200 characters")
    reference = raw.get("reference", {})
    if not isinstance(reference, dict):
        report.add(lineno, "reference", "must be an object")
    else:
        encoded = json.dumps(reference)
        if len(encoded) > MAX_REFERENCE_CHARS:
            report.add(lineno, "reference", f"longer than {MAX_REFERENCE_CHARS} characters")
        elif "\\u0000" in encoded:
            report.add(lineno, "reference", "contains a NUL character")
    if report.n_errors > before:
        return None
    assert isinstance(text, str)
    return {
        "text": text,
        "text_sha256": text_hash(text),
        "split": split,
        "category": category,
        "external_id": external_id,
        "reference": reference,
    }


def parse_rows(stream: Iterator[str], fmt: str, report: ImportReport) -> Iterator[Row]:
    return (rows_from_jsonl if fmt == "jsonl" else rows_from_csv)(stream, report)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
