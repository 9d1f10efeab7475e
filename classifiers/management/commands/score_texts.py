"""Score a file of texts with a classifier version: JSONL or CSV in, JSONL or CSV out.

    manage.py score_texts --classifier-version 12 --input held_out.jsonl --output scored.jsonl
        [--text-field text] [--id-field id] [--batch-size 256] [--precision fp32|int8]

Each output row keeps the input's id field (when named) and the text's row number, then the
version's answer: for a document classifier the top `label` and one `p_<class>` per class, in
the version's class order (named in the header of a CSV; in a JSONL row as `probabilities`);
for a span tagger the `spans` ({start, end, label, score}, code-point offsets; JSON in a CSV
cell). A row without a string in the text field is reported with its line and skipped.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from classifiers.backends.base import SPAN_TAGGER


def _rows(path: Path, text_field: str) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(line, row or None when unreadable, problem)."""
    with path.open(newline="", encoding="utf-8") as f:
        if path.suffix.lower() == ".csv":
            # The limit is process-wide (the web process's prompt import relies on the
            # default): raised while this file is read, then put back.
            before = csv.field_size_limit(sys.maxsize)
            try:
                for n, row in enumerate(csv.DictReader(f), start=2):
                    yield n, row, ""
            finally:
                csv.field_size_limit(before)
            return
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"not JSON ({exc.msg})"
                continue
            if not isinstance(row, dict):
                yield n, None, "not a JSON object"
                continue
            yield n, row, ""


class Command(BaseCommand):
    help = "Score a JSONL or CSV file of texts with a classifier version (document or tagger)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--classifier-version", type=int, required=True, help="classifier version id"
        )
        parser.add_argument("--input", type=Path, required=True, help=".jsonl or .csv")
        parser.add_argument("--output", type=Path, required=True, help=".jsonl or .csv")
        parser.add_argument("--text-field", default="text")
        parser.add_argument("--id-field", default=None)
        parser.add_argument("--batch-size", type=int, default=256)
        parser.add_argument(
            "--precision",
            choices=["fp32", "int8"],
            default="fp32",
            help="int8: a transformer version with int8 Linear layers on CPU (faster)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from classifiers.selectors import version_for_user
        from classifiers.services.scoring import score_texts, version_classes, version_kind

        version = version_for_user(opts["classifier_version"])
        if version is None:
            raise CommandError(f"no classifier version {opts['classifier_version']}")
        src, dst = opts["input"], opts["output"]
        for p in (src, dst):
            if p.suffix.lower() not in (".jsonl", ".csv"):
                raise CommandError(f"{p}: expected a .jsonl or .csv file")
        if not src.is_file():
            raise CommandError(f"{src}: no such file")
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        kind, classes = version_kind(version), version_classes(version)
        tmp = dst.with_name(dst.name + ".part")
        written = skipped = 0
        with tmp.open("w", newline="", encoding="utf-8") as out:
            writer = self._writer(out, dst, kind, classes, opts["id_field"])
            batch: list[tuple[int, Any, str]] = []

            def flush() -> None:
                results = score_texts(version, [t for _, _, t in batch], opts["precision"])
                for (n, ident, _), result in zip(batch, results, strict=True):
                    writer(n, ident, result)
                batch.clear()

            for n, row, problem in _rows(src, opts["text_field"]):
                text = None if row is None else row.get(opts["text_field"])
                if not isinstance(text, str):
                    why = problem or f"no string in field {opts['text_field']!r}"
                    self.stderr.write(f"{src}:{n}: skipped: {why}")
                    skipped += 1
                    continue
                ident = row.get(opts["id_field"]) if opts["id_field"] and row else None
                batch.append((n, ident, text))
                written += 1
                if len(batch) >= opts["batch_size"]:
                    flush()
            if batch:
                flush()
        tmp.replace(dst)  # a crash leaves no half-written output under the real name
        self.stdout.write(
            f"scored {written} texts with {version.name} ({kind}); skipped {skipped}; wrote {dst}"
        )

    @staticmethod
    def _writer(out: TextIO, dst: Path, kind: str, classes: list[str], id_field: str | None) -> Any:
        id_cols = [id_field] if id_field else []
        if dst.suffix.lower() == ".jsonl":

            def write_jsonl(n: int, ident: Any, result: dict[str, Any]) -> None:
                row: dict[str, Any] = {"line": n}
                if id_field:
                    row[id_field] = ident
                row.update(result)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")

            return write_jsonl
        if kind == SPAN_TAGGER:
            header = ["line", *id_cols, "spans"]
        else:
            header = ["line", *id_cols, "label", *(f"p_{c}" for c in classes)]
        writer = csv.writer(out)
        writer.writerow(header)

        def write_csv(n: int, ident: Any, result: dict[str, Any]) -> None:
            ids = [ident] if id_field else []
            if kind == SPAN_TAGGER:
                writer.writerow([n, *ids, json.dumps(result["spans"])])
            else:
                probs = result["probabilities"]
                writer.writerow([n, *ids, result["label"], *(probs[c] for c in classes)])

        return write_csv
