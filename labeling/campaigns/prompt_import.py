"""Prompt import: JSONL or CSV, all rows or none, with a report of every bad row."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from core.errors import DomainError
from labeling.models import Prompt

MAX_ROWS = 200_000
MAX_PROMPT_CHARS = 20_000
TEXT_KEYS = ("text", "prompt", "question")
LIST_SEPARATOR = ";"


@dataclass
class ImportReport:
    created: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: int, field_name: str, reason: str) -> None:
        self.errors.append({"row": row, "field": field_name, "reason": reason})


def rows_from_jsonl(content: str, report: ImportReport) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report.add(lineno, "", f"not valid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            report.add(lineno, "", "each line must be a JSON object")
            continue
        rows.append((lineno, obj))
    return rows


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


def rows_from_csv(content: str, report: ImportReport) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(content))
    if not reader.fieldnames:
        report.add(1, "", "the CSV has no header row")
        return []
    rows = []
    for record in reader:
        lineno = reader.line_num
        if None in record:
            report.add(lineno, "", "more cells than header columns")
            continue
        row: dict[str, Any] = {k.strip().lower(): (v or "").strip() for k, v in record.items()}
        # TruthfulQA-style columns become reference answers.
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
        rows.append((lineno, row))
    return rows


def clean_row(
    lineno: int, raw: dict[str, Any], report: ImportReport, default_split: str
) -> dict[str, Any] | None:
    before = len(report.errors)
    text_key = next((k for k in TEXT_KEYS if k in raw), None)
    text = raw.get(text_key) if text_key else None
    if not isinstance(text, str) or not text.strip():
        report.add(lineno, "text", 'missing or empty (use a "text", "prompt" or "question" field)')
    elif len(text) > MAX_PROMPT_CHARS:
        report.add(lineno, "text", f"longer than {MAX_PROMPT_CHARS} characters")
    split = raw.get("split") or default_split
    if split not in Prompt.Split.values:
        report.add(lineno, "split", f"{split!r} is not one of public, private")
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
    if len(report.errors) > before:
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


def decode_upload(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError("the file is not UTF-8 text", field="file") from exc


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
