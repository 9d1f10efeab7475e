"""The prompt import service: all rows or none, without holding other writers up.

Two passes. The first reads the upload as a stream and checks every row (prompt_import.py),
writing nothing to the database: a bad file is reported whole and never touches it; the good
rows go to a spool file, ready to insert. The second inserts the spool in short transactions,
rows carrying their PromptImport, which keeps them invisible (`Prompt.objects` leaves them out)
until one UPDATE of the import's own row commits them all.

Why: a 50 MB import (180k rows) parsed into memory took 780 MB and held SQLite's single write
lock for ~30 s in one transaction; annotators' `next` waited 31 s, then failed with "database
is locked". Now the lock is held for one chunk at a time (bench/import_under_load.py).

A crash midway leaves a pending import whose heartbeat stops: its rows never show, and
`prompt_imports_cleanup` (run before every import of the campaign, and by
`manage.py prompt_imports_cleanup`) fails it and deletes them.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from core.errors import DomainError
from labeling.campaigns.prompt_import import (
    MAX_ROWS,
    ImportReport,
    Upload,
    clean_row,
    open_lines,
    parse_rows,
)
from labeling.models import Campaign, Prompt, PromptImport

# Rows per write transaction: SQLite's write lock is held for one chunk (~0.1 s here).
IMPORT_CHUNK = 1000
# Rows per lookup of prompts already in the campaign (under SQLite's 999 parameters).
LOOKUP_BATCH = 500
# Between chunks, outside any transaction: a writer waiting in SQLite's busy handler retries
# every 100 ms at most, so a slightly longer pause lets every waiting `next`/`submit` in.
IMPORT_PAUSE_S = 0.12
# A pending import whose heartbeat (one per chunk) is older than this has died.
IMPORT_STALE = timedelta(minutes=10)
# Checked rows stay in memory up to this size, then go to a temporary file.
SPOOL_BYTES = 16 * 2**20


@dataclass
class _Seen:
    """What the first pass remembers of the rows so far: text hashes and ids, with their row."""

    hashes: dict[bytes, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def first(self, lineno: int, row: dict[str, Any], report: ImportReport) -> bool:
        digest = bytes.fromhex(row["text_sha256"])
        if digest in self.hashes:
            report.add(lineno, "text", f"duplicate of row {self.hashes[digest]}")
            return False
        external_id = row["external_id"]
        if external_id and external_id in self.ids:
            report.add(lineno, "id", f"id {external_id!r} is already used")
            return False
        self.hashes[digest] = lineno
        if external_id:
            self.ids[external_id] = lineno
        return True


def _already_there(status: str | None) -> str:
    if status in (None, PromptImport.Status.COMMITTED):
        return "this prompt is already in the campaign"
    return "this prompt is in another import that has not finished; try again when it has"


def _check_existing(
    campaign: Campaign, batch: list[tuple[int, dict[str, Any]]], report: ImportReport
) -> None:
    """Rows whose text or id the campaign already has, pending imports' rows included (they
    would break the unique constraints at write time)."""
    if not batch:
        return
    rows = Prompt.all_rows.filter(campaign=campaign)
    by_hash = {row["text_sha256"]: lineno for lineno, row in batch}
    flagged = set()
    found = rows.filter(text_sha256__in=list(by_hash)).values_list(
        "text_sha256", "source_import__status"
    )
    for text_sha256, status in found:
        report.add(by_hash[text_sha256], "text", _already_there(status))
        flagged.add(by_hash[text_sha256])
    by_id = {row["external_id"]: n for n, row in batch if row["external_id"] and n not in flagged}
    if by_id:
        for external_id in rows.filter(external_id__in=list(by_id)).values_list(
            "external_id", flat=True
        ):
            report.add(by_id[external_id], "id", f"id {external_id!r} is already used")


# The spool's columns, in the INSERT's order after campaign_id and source_import_id.
_COLUMNS = ("external_id", "text", "text_sha256", "category", "split", "reference")


def _spooled(row: dict[str, Any]) -> bytes:
    values = [row[c] for c in _COLUMNS]
    values[-1] = json.dumps(values[-1])
    return json.dumps(values).encode() + b"\n"


def _reject(report: ImportReport) -> DomainError:
    return DomainError(
        f"{report.n_errors} bad row(s); nothing was imported",
        field="file",
        code="import_rejected",
        extra={
            "rows": sorted(report.errors, key=lambda e: e["row"]),
            "rows_not_listed": report.n_errors - len(report.errors),
        },
    )


def _check_rows(
    campaign: Campaign, data: Upload, fmt: str, default_split: str, spool: IO[bytes]
) -> int:
    """First pass: every row checked, the good ones spooled, nothing written; the number of
    rows, or DomainError with every bad row (the first MAX_REPORTED listed, the rest counted)."""
    report = ImportReport()
    seen = _Seen()
    batch: list[tuple[int, dict[str, Any]]] = []
    n_rows = 0
    with open_lines(data) as lines:
        for lineno, raw in parse_rows(lines, fmt, report):
            n_rows += 1
            if n_rows > MAX_ROWS or report.n_errors > MAX_ROWS:
                raise DomainError(f"at most {MAX_ROWS} rows per import", field="file")
            row = clean_row(lineno, raw, report, default_split)
            if row is None or not seen.first(lineno, row, report):
                continue
            batch.append((lineno, row))
            if not report.n_errors:
                spool.write(_spooled(row))
            if len(batch) >= LOOKUP_BATCH:
                _check_existing(campaign, batch, report)
                batch.clear()
    _check_existing(campaign, batch, report)
    if not n_rows and not report.n_errors:
        raise DomainError("the file has no rows", field="file")
    if report.n_errors:
        raise _reject(report)
    return n_rows


def _still_pending(job: PromptImport) -> QuerySet[PromptImport]:
    return PromptImport.objects.filter(pk=job.pk, status=PromptImport.Status.PENDING)


def _lost() -> DomainError:
    return DomainError(
        "the import stalled and was cancelled; nothing was imported",
        field="file",
        code="import_cancelled",
        status_code=409,
    )


def _insert_sql() -> str:
    # Hand-written: Django's bulk_create compiled each row field by field (a third of the
    # import's time, inside the transaction, holding SQLite's write lock).
    reference = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    return (
        "INSERT INTO labeling_prompt (campaign_id, source_import_id, external_id, text,"
        f" text_sha256, category, split, reference, created_at) VALUES"
        f" (%s, %s, %s, %s, %s, %s, %s, {reference}, %s)"
    )


def _write_chunk(job: PromptImport, lines: list[bytes]) -> None:
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    params = [[job.campaign_id, job.pk, *json.loads(line), stamp] for line in lines]
    with transaction.atomic():
        # The heartbeat first: on PostgreSQL it locks the import's row, so a cleanup cannot
        # fail the import halfway through a chunk.
        if not _still_pending(job).update(rows=F("rows") + len(lines), heartbeat_at=now):
            raise _lost()
        with connection.cursor() as cursor:
            cursor.executemany(_insert_sql(), params)


def _let_others_write() -> None:
    # SQLite has one writer at a time; PostgreSQL locks rows, and nobody else wants these.
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(IMPORT_PAUSE_S)


def _chunks(spool: IO[bytes], size: int) -> Iterator[list[bytes]]:
    spool.seek(0)
    chunk: list[bytes] = []
    for line in spool:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_rows(job: PromptImport, spool: IO[bytes]) -> int:
    """Second pass: the spooled rows, written in chunks, each its own short transaction."""
    written = 0
    for chunk in _chunks(spool, IMPORT_CHUNK):
        _write_chunk(job, chunk)
        written += len(chunk)
        _let_others_write()
    return written


def _fail(job: PromptImport, error: str) -> None:
    """Mark the import failed (its rows stay invisible) and delete its rows. Should this fail
    too (the database gone), prompt_imports_cleanup deletes them later."""
    with contextlib.suppress(DatabaseError):
        PromptImport.objects.filter(pk=job.pk).exclude(status=PromptImport.Status.COMMITTED).update(
            status=PromptImport.Status.FAILED, error=error[:2000], finished_at=timezone.now()
        )
        _delete_rows(job.pk)


def _delete_rows(import_id: int) -> int:
    """Delete a failed import's rows, a chunk per transaction (none of them has items)."""
    deleted = 0
    while True:
        with transaction.atomic():
            pending = Prompt.all_rows.filter(source_import_id=import_id)
            ids = list(pending.values_list("id", flat=True)[:IMPORT_CHUNK])
            if not ids:
                return deleted
            Prompt.all_rows.filter(pk__in=ids).delete()
        deleted += len(ids)
        _let_others_write()


def _commit(job: PromptImport) -> None:
    with transaction.atomic():
        done = _still_pending(job).update(
            status=PromptImport.Status.COMMITTED, finished_at=timezone.now()
        )
    if not done:
        raise _lost()


def prompts_import(
    *,
    campaign: Campaign,
    data: Upload,
    fmt: str,
    default_split: str = "public",
    user: User | None = None,
) -> ImportReport:
    """Check every row, then write all of them, or none: all rows become visible together.

    `data` is the file's bytes or text, or a binary file object (read once, from the start).
    Raises DomainError with ``extra={"rows": [...]}`` listing each bad row and its reason.
    """
    if fmt not in ("jsonl", "csv"):
        raise DomainError("format must be jsonl or csv", field="format")
    if default_split not in Prompt.Split.values:
        raise DomainError("split must be public or private", field="split")
    prompt_imports_cleanup(campaign=campaign)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        n_rows = _check_rows(campaign, data, fmt, default_split, spool)
        job = PromptImport.objects.create(
            campaign=campaign, created_by=user, heartbeat_at=timezone.now()
        )
        try:
            written = _write_rows(job, spool)
            if written != n_rows:
                raise RuntimeError(f"wrote {written} rows of {n_rows}")
            _commit(job)
        except IntegrityError as exc:
            _fail(job, f"conflict: {exc}")
            raise DomainError(
                "another import added some of these prompts meanwhile; nothing was imported",
                field="file",
                code="import_conflict",
                status_code=409,
            ) from exc
        except BaseException as exc:
            _fail(job, f"{type(exc).__name__}: {exc}")
            raise
    return ImportReport(created=written, import_id=job.pk)


def prompt_imports_cleanup(*, campaign: Campaign | None = None, now: datetime | None = None) -> int:
    """Fail pending imports whose heartbeat stopped (their process died: their rows were never
    visible) and delete the rows of failed imports. Runs before every import of the campaign
    and from `manage.py prompt_imports_cleanup`. Returns how many rows it deleted."""
    now = now or timezone.now()
    imports = PromptImport.objects.all() if campaign is None else campaign.prompt_imports.all()
    imports.filter(status=PromptImport.Status.PENDING, heartbeat_at__lt=now - IMPORT_STALE).update(
        status=PromptImport.Status.FAILED,
        error=f"no heartbeat for {IMPORT_STALE}: the import's process stopped",
        finished_at=now,
    )
    with_rows = Exists(Prompt.all_rows.filter(source_import=OuterRef("pk")))
    failed = imports.filter(with_rows, status=PromptImport.Status.FAILED)
    return sum(_delete_rows(pk) for pk in failed.values_list("pk", flat=True))
