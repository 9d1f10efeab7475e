from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
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
from labeling.models import Assignment, Campaign, Item, Membership, Prompt, PromptImport, Rubric
from labeling.rubric import default_rubric, validate_rubric
from labeling.scores.refresh import score_summary_request

# Status changes an admin may make by hand; generation moves draft -> generating itself.
_ALLOWED_STATUS = {
    Campaign.Status.DRAFT: {Campaign.Status.LABELING, Campaign.Status.CLOSED},
    Campaign.Status.GENERATING: {Campaign.Status.LABELING, Campaign.Status.CLOSED},
    Campaign.Status.LABELING: {Campaign.Status.CLOSED},
    Campaign.Status.CLOSED: {Campaign.Status.LABELING},
}


# Plain settings an admin may set at creation or later (the serializers check their ranges).
SETTINGS_FIELDS = (
    "consensus_method",
    "gold_min_accuracy",
    "gold_min_answers",
    "queue_strategy",
    "random_share",
    "retrain_every",
    "skip_limit_per_hour",
)


@transaction.atomic
def campaign_create(
    *,
    user: User,
    name: str,
    instructions: str = "",
    rubric: dict[str, Any] | None = None,
    overlap: int = 3,
    gold_rate: float = 0.0,
    lease_minutes: int = 30,
    private_annotators: list[int] | None = None,
    **settings: Any,
) -> Campaign:
    """A campaign with its rubric and its creator as admin; `settings` are further fields of
    SETTINGS_FIELDS (quality control and queue ordering), checked by the database;
    `private_annotators` as in `private_annotators_set` (only the creator is a member yet)."""
    unknown = set(settings) - set(SETTINGS_FIELDS)
    if unknown:
        raise DomainError(f"unknown setting {sorted(unknown)[0]}", field=sorted(unknown)[0])
    schema = validate_rubric(rubric if rubric is not None else default_rubric())
    rubric_row = Rubric.objects.create(name=f"{name} rubric", schema=schema)
    campaign = Campaign.objects.create(
        name=name,
        instructions=instructions,
        rubric=rubric_row,
        overlap=overlap,
        gold_rate=gold_rate,
        lease_minutes=lease_minutes,
        created_by=user,
        **settings,
    )
    Membership.objects.create(campaign=campaign, user=user, role=Membership.Role.ADMIN)
    if private_annotators is not None:
        private_annotators_set(campaign=campaign, user_ids=private_annotators)
        campaign.save(update_fields=["private_restricted"])
    return campaign


def _expire_leases(leases: QuerySet[Assignment]) -> None:
    """Hand live leases back to the pool: their slots to their items (gold holds none; sorted,
    so that concurrent releases do not deadlock on PostgreSQL)."""
    for item_id in sorted(leases.filter(item__is_gold=False).values_list("item_id", flat=True)):
        Item.objects.filter(pk=item_id).update(open_slots=F("open_slots") + 1)
    leases.update(status=Assignment.Status.EXPIRED, finished_at=timezone.now())


def private_annotators_set(*, campaign: Campaign, user_ids: list[int] | None) -> None:
    """Who may be leased items of private prompts: None, any annotator; a list, only these
    members (annotators or admins) and the campaign's admins. Live leases of private items
    held by anyone else go back to the pool. Sets `campaign.private_restricted`; the caller
    saves the campaign."""
    memberships = Membership.objects.filter(campaign=campaign)
    if user_ids is None:
        campaign.private_restricted = False
        memberships.filter(private_access=True).update(private_access=False)
        return
    roles = dict(memberships.filter(user_id__in=user_ids).values_list("user_id", "role"))
    for i, user_id in enumerate(user_ids):
        if roles.get(user_id) not in (Membership.Role.ANNOTATOR, Membership.Role.ADMIN):
            raise DomainError(
                f"user {user_id} is not an annotator or admin of this campaign",
                field=f"private_annotators[{i}]",
            )
    memberships.update(
        private_access=Case(When(user_id__in=user_ids, then=Value(True)), default=Value(False))
    )
    campaign.private_restricted = True
    admins = memberships.filter(role=Membership.Role.ADMIN).values_list("user_id", flat=True)
    leases = Assignment.objects.filter(
        campaign=campaign,
        status=Assignment.Status.ACTIVE,
        item__prompt__split=Prompt.Split.PRIVATE,
        annotator__is_superuser=False,
    ).exclude(annotator_id__in=[*user_ids, *admins])
    _expire_leases(Assignment.objects.filter(pk__in=list(leases.values_list("pk", flat=True))))


def _reset_open_slots(campaign: Campaign, overlap: int) -> None:
    """Open slots from the facts: overlap minus labels minus leases still holding a slot.

    Items already above a lowered overlap keep their labels; they just take no more. Gold
    items stay outside the slot queue.
    """
    holding = (
        Assignment.objects.filter(item=OuterRef("pk"), status=Assignment.Status.ACTIVE)
        .order_by()
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    taken = F("n_submitted") + Coalesce(Subquery(holding), Value(0))
    Item.objects.filter(campaign=campaign, is_gold=False).update(
        open_slots=Greatest(Value(overlap) - taken, 0)
    )


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: dict[str, Any]) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if "rubric" in data:
        if campaign.assignments.exists():
            raise DomainError("the rubric cannot change once labeling has started", field="rubric")
        campaign.rubric.schema = validate_rubric(data["rubric"])
        campaign.rubric.save(update_fields=["schema"])
    if "status" in data and data["status"] != campaign.status:
        if data["status"] not in _ALLOWED_STATUS[Campaign.Status(campaign.status)]:
            raise DomainError(
                f"cannot go from {campaign.status} to {data['status']}", field="status"
            )
        campaign.status = data["status"]
    if "overlap" in data and data["overlap"] != campaign.overlap:
        _reset_open_slots(campaign, data["overlap"])
        campaign.overlap = data["overlap"]
    if "private_annotators" in data:
        private_annotators_set(campaign=campaign, user_ids=data["private_annotators"])
    for name in ("name", "instructions", "gold_rate", "lease_minutes", *SETTINGS_FIELDS):
        if name in data:
            setattr(campaign, name, data[name])
    campaign.save()
    return campaign


def campaign_generation_started(*, campaign_id: int) -> None:
    """A draft campaign moves to generating when its first generation job is queued."""
    Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.DRAFT).update(
        status=Campaign.Status.GENERATING
    )


def campaign_generation_finished(*, campaign_id: int) -> None:
    """Generation is over: a generating campaign opens for labeling. The condition is checked
    in the database, not on a copy the caller may hold."""
    Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.GENERATING).update(
        status=Campaign.Status.LABELING
    )


def membership_set(*, campaign: Campaign, user: User, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise DomainError(f"role must be one of {Membership.Role.values}", field="role")
    membership, _ = Membership.objects.update_or_create(
        campaign=campaign, user=user, defaults={"role": role}
    )
    return membership


def membership_remove(*, campaign: Campaign, user_id: int) -> None:
    """Their labels stay; their live leases go back to the pool."""
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(campaign=campaign, user_id=user_id).delete()
        if not deleted:
            raise DomainError("no such member", status_code=404, code="not_found")
        leases = Assignment.objects.filter(
            campaign=campaign, annotator_id=user_id, status=Assignment.Status.ACTIVE
        )
        _expire_leases(leases)


@dataclass
class NewItem:
    prompt_id: int
    sample_index: int
    text: str
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str = ""
    latency_ms: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)


def items_create(
    *,
    campaign: Campaign,
    model_id: int,
    params_hash: str,
    new_items: list[NewItem],
    job_id: int | None = None,
) -> int:
    """Insert outputs; an output already stored for (prompt, model, params, sample) is kept.

    Returns how many rows were new. Safe to call again with the same outputs (a re-run job).
    """
    rows = [
        Item(
            campaign=campaign,
            prompt_id=n.prompt_id,
            model_id=model_id,
            job_id=job_id,
            params_hash=params_hash,
            sample_index=n.sample_index,
            text=n.text,
            prompt_tokens=n.prompt_tokens,
            output_tokens=n.output_tokens,
            finish_reason=n.finish_reason,
            latency_ms=n.latency_ms,
            provenance=n.provenance,
            open_slots=campaign.overlap,
        )
        for n in new_items
    ]
    with transaction.atomic():
        before = Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).count()
        Item.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        after = Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).count()
    return after - before


def existing_samples(
    *, campaign: Campaign, model_id: int, params_hash: str
) -> set[tuple[int, int]]:
    """(prompt_id, sample_index) pairs already generated, so a re-run skips them."""
    return set(
        Item.objects.filter(
            campaign=campaign, model_id=model_id, params_hash=params_hash
        ).values_list("prompt_id", "sample_index")
    )


@dataclass(frozen=True)
class ClassifierScore:
    harm_probability: float
    priority: float | None


def items_set_classifier_scores(
    *, campaign: Campaign, version: str, scores: dict[int, ClassifierScore]
) -> int:
    """Store the active classifier version's harm probability and queue priority per item.

    The classifier app calls this after predicting; items of other campaigns are ignored.
    Returns how many items were updated.
    """
    for item_id, score in scores.items():
        if not 0.0 <= score.harm_probability <= 1.0:
            raise ValueError(
                f"item {item_id}: harm probability {score.harm_probability} not in [0, 1]"
            )
    rows = list(Item.objects.filter(campaign=campaign, id__in=list(scores)).only("id"))
    for row in rows:
        s = scores[row.id]
        row.harm_probability = s.harm_probability
        row.priority = 0.0 if s.priority is None else s.priority  # 0: not prioritised
        row.classifier_version = version
    with transaction.atomic():
        Item.objects.bulk_update(
            rows, ["harm_probability", "priority", "classifier_version"], batch_size=500
        )
        # The prediction-powered estimates use these probabilities: refresh the summary.
        score_summary_request(campaign_id=campaign.pk)
    return len(rows)


# --- prompt import -----------------------------------------------------------------------------
#
# Two passes over the streamed upload: the first checks every row and writes nothing (a bad
# file is reported whole and never touches the database); the second writes the rows in short
# transactions, invisible (PromptImport pending) until one UPDATE of the import's own row
# commits them all. A big import thus never holds SQLite's single write lock for long: the
# 180k-row import that held it for 30 s (annotators' `next` waited 31 s, then got "database is
# locked") now holds it for one chunk at a time.

# Rows per write transaction: SQLite's write lock is held for one chunk (~0.1 s).
IMPORT_CHUNK = 1000
# Rows per lookup of prompts already in the campaign (under SQLite's 999 parameters).
LOOKUP_BATCH = 500
# Between chunks, outside any transaction: a writer waiting in SQLite's busy handler retries
# every 100 ms at most, so a slightly longer pause lets every waiting `next`/`submit` in.
IMPORT_PAUSE_S = 0.12
# A pending import whose heartbeat (one per chunk) is older than this has died.
IMPORT_STALE = timedelta(minutes=10)


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


def _check_rows(campaign: Campaign, data: Upload, fmt: str, default_split: str) -> int:
    """First pass: every row checked, nothing written; the number of rows, or DomainError with
    every bad row (the first MAX_REPORTED listed, the rest counted)."""
    report = ImportReport()
    seen = _Seen()
    batch: list[tuple[int, dict[str, Any]]] = []
    n_rows = 0
    with open_lines(data) as stream:
        for lineno, raw in parse_rows(stream, fmt, report):
            n_rows += 1
            if n_rows > MAX_ROWS or report.n_errors > MAX_ROWS:
                raise DomainError(f"at most {MAX_ROWS} rows per import", field="file")
            row = clean_row(lineno, raw, report, default_split)
            if row is not None and seen.first(lineno, row, report):
                batch.append((lineno, row))
            if len(batch) >= LOOKUP_BATCH:
                _check_existing(campaign, batch, report)
                batch.clear()
    _check_existing(campaign, batch, report)
    if not n_rows and not report.n_errors:
        raise DomainError("the file has no rows", field="file")
    if report.n_errors:
        raise DomainError(
            f"{report.n_errors} bad row(s); nothing was imported",
            field="file",
            code="import_rejected",
            extra={
                "rows": sorted(report.errors, key=lambda e: e["row"]),
                "rows_not_listed": report.n_errors - len(report.errors),
            },
        )
    return n_rows


def _chunks(rows: Iterator[dict[str, Any] | None], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        if row is None:
            raise RuntimeError("a row checked in the first pass is bad in the second")
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _still_pending(job: PromptImport) -> QuerySet[PromptImport]:
    return PromptImport.objects.filter(pk=job.pk, status=PromptImport.Status.PENDING)


def _lost(job: PromptImport) -> DomainError:
    return DomainError(
        "the import stalled and was cancelled; nothing was imported",
        field="file",
        code="import_cancelled",
        status_code=409,
    )


def _write_chunk(job: PromptImport, rows: list[dict[str, Any]]) -> None:
    prompts = [Prompt(campaign_id=job.campaign_id, source_import=job, **row) for row in rows]
    with transaction.atomic():
        # The heartbeat first: on PostgreSQL it locks the import's row, so a cleanup cannot
        # fail the import halfway through a chunk.
        if not _still_pending(job).update(rows=F("rows") + len(rows), heartbeat_at=timezone.now()):
            raise _lost(job)
        Prompt.all_rows.bulk_create(prompts, batch_size=500)


def _let_others_write() -> None:
    # SQLite has one writer at a time; PostgreSQL locks rows, and nobody else wants these.
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(IMPORT_PAUSE_S)


def _write_rows(job: PromptImport, data: Upload, fmt: str, default_split: str) -> int:
    """Second pass: the rows, written in chunks, each its own short transaction."""
    written = 0
    report = ImportReport()
    with open_lines(data) as stream:
        parsed = parse_rows(stream, fmt, report)
        rows = (clean_row(n, raw, report, default_split) for n, raw in parsed)
        for chunk in _chunks(rows, IMPORT_CHUNK):
            _write_chunk(job, chunk)
            written += len(chunk)
            _let_others_write()
    if report.n_errors:
        raise RuntimeError("the upload changed between the two passes")
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
            ids = list(
                Prompt.all_rows.filter(source_import_id=import_id).values_list("id", flat=True)[
                    :IMPORT_CHUNK
                ]
            )
            if not ids:
                return deleted
            Prompt.all_rows.filter(pk__in=ids).delete()
        deleted += len(ids)
        _let_others_write()


def prompts_import(
    *,
    campaign: Campaign,
    data: Upload,
    fmt: str,
    default_split: str = "public",
    user: User | None = None,
) -> ImportReport:
    """Check every row, then write all of them, or none: all rows become visible together.

    `data` is the file's bytes or text, or a binary file object (read twice, from the start).
    Raises DomainError with ``extra={"rows": [...]}`` listing each bad row and its reason.
    """
    if fmt not in ("jsonl", "csv"):
        raise DomainError("format must be jsonl or csv", field="format")
    if default_split not in Prompt.Split.values:
        raise DomainError("split must be public or private", field="split")
    prompt_imports_cleanup(campaign=campaign)
    n_rows = _check_rows(campaign, data, fmt, default_split)
    job = PromptImport.objects.create(
        campaign=campaign, created_by=user, heartbeat_at=timezone.now()
    )
    try:
        written = _write_rows(job, data, fmt, default_split)
        assert written == n_rows, (written, n_rows)
        with transaction.atomic():
            if not _still_pending(job).update(
                status=PromptImport.Status.COMMITTED, finished_at=timezone.now()
            ):
                raise _lost(job)
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
