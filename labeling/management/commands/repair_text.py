"""manage.py repair_text [--dry-run]: find the strings stored before inputs were checked that no
reader can encode, and repair them.

A lone UTF-16 surrogate ("\\udc00" in JSON) reached the database only through JSON columns
(annotation values, consensus and gold values, rubrics, provenance, prompt references): SQLite
keeps it there as a \\u escape; PostgreSQL's jsonb refuses it, so nothing is stored there. Text
columns (prompts, item texts, campaign names and instructions) never receive one from Django,
whose drivers refuse to encode it, but a row written by another tool may hold such bytes
(e.g. b"\\xed\\xb0\\x80" on SQLite), which then fails every read of the row. Both are found here
by reading every text and JSON column of the labeling tables as raw bytes (SQLite) or text,
and each lone surrogate (and each byte that is not UTF-8) is replaced with U+FFFD. Surrogate
pairs are joined into the character they encode, not replaced. Every change is printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import IntegrityError, connection, models, transaction

from core.text import has_lone_surrogate, scrub, scrub_value
from labeling.campaigns.prompt_import import text_hash
from labeling.models import Prompt

BATCH = 1000
_TEXT = (models.CharField, models.TextField)


@dataclass
class Change:
    model: type[models.Model]
    field: models.Field[Any, Any]
    pk: Any
    new: Any
    what: str  # what was replaced, or why the value is left as is (then `new` is None)
    readable: bool = True

    def describe(self) -> str:
        return f"{self.model._meta.db_table}.{self.field.column} #{self.pk}: {self.what}"


def _join_pairs(text: str) -> str:
    """Surrogate pairs (as decoded from CESU-8 bytes) as the one character they encode."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _decode(raw: bytes | str) -> tuple[str, bool]:
    """A stored value as text with its lone surrogates kept (to be counted, then replaced) and
    surrogate pairs joined; True when bytes other than surrogates were not UTF-8 (those are
    decoded as U+FFFD)."""
    if isinstance(raw, str):
        return raw, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        return _join_pairs(raw.decode("utf-8", "surrogatepass")), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), True


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if isinstance(f, (*_TEXT, models.JSONField))]


def _rows(
    model: type[models.Model], fields: list[models.Field[Any, Any]]
) -> Iterator[tuple[Any, ...]]:
    """(pk, raw value per field) of every row, a batch per query, as bytes on SQLite (whose
    driver fails on text that is not UTF-8) and as text elsewhere."""
    qn = connection.ops.quote_name
    as_type = "BLOB" if connection.vendor == "sqlite" else "TEXT"
    pk = qn(str(model._meta.pk.column))
    columns = ", ".join(f"CAST({qn(str(f.column))} AS {as_type})" for f in fields)
    sql = (
        f"SELECT {pk}, {columns} FROM {qn(model._meta.db_table)}"
        f" WHERE {pk} > %s ORDER BY {pk} LIMIT {BATCH}"
    )
    last: Any = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last])
            batch = cursor.fetchall()
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1][0]


def _what(text: str, not_utf8: bool) -> str:
    n = sum(1 for ch in text if "\ud800" <= ch <= "\udfff")
    parts = [f"{n} lone surrogate(s)"] if n else []
    if not_utf8:
        parts.append("bytes that are not UTF-8")
    return " and ".join(parts) + " replaced with U+FFFD"


def _change(
    model: type[models.Model], field: models.Field[Any, Any], pk: Any, raw: Any
) -> Change | None:
    """The repair of one stored value, or None when it is sound."""
    text, not_utf8 = _decode(raw)
    rewrite = not_utf8 or (isinstance(raw, bytes) and text.encode("utf-8", "surrogatepass") != raw)
    if isinstance(field, models.JSONField):
        try:
            value = json.loads(text)
        except ValueError:
            return Change(model, field, pk, None, "left as is: not JSON", readable=False)
        dumped = json.dumps(value, ensure_ascii=False)
        if not rewrite and not has_lone_surrogate(dumped):
            return None
        return Change(model, field, pk, scrub_value(value), _what(dumped, not_utf8))
    if not rewrite and not has_lone_surrogate(text):
        return None
    return Change(model, field, pk, scrub(text), _what(text, not_utf8))


def find_changes(model: type[models.Model]) -> Iterator[Change]:
    fields = _fields(model)
    if not fields:
        return
    for pk, *raws in _rows(model, fields):
        for field, raw in zip(fields, raws, strict=True):
            change = None if raw is None else _change(model, field, pk, raw)
            if change is not None:
                yield change


def apply(change: Change) -> None:
    values = {change.field.attname: change.new}
    if change.model is Prompt and change.field.name == "text":
        values["text_sha256"] = text_hash(change.new)  # duplicates are found by this hash
    change.model._base_manager.filter(pk=change.pk).update(**values)


class Command(BaseCommand):
    help = (
        "Replace each lone UTF-16 surrogate (and each byte that is not UTF-8) stored in the "
        "labeling tables' text and JSON columns with U+FFFD, printing every change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print, change nothing")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        done = failed = 0
        for model in apps.get_app_config("labeling").get_models():
            for change in find_changes(model):
                if not change.readable:
                    failed += 1
                    self.stderr.write(change.describe())
                    continue
                try:
                    if not dry_run:
                        with transaction.atomic():
                            apply(change)
                except IntegrityError as exc:
                    failed += 1
                    self.stderr.write(f"{change.describe()}: left as is ({exc})")
                    continue
                done += 1
                self.stdout.write(change.describe())
        verb = "would repair" if dry_run else "repaired"
        summary = f"{verb} {done} value(s)" + (f", {failed} left as is" if failed else "")
        self.stdout.write(summary + (" (dry run: nothing changed)" if dry_run else ""))
