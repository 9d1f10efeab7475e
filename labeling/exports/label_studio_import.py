"""Reading a Label Studio JSON export back as annotations: all rows or none, every problem
reported with its place in the file (tasks[i].annotations[j].<field>)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeGuard, cast

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from core.errors import DomainError
from core.parsers import bad_input_errors
from core.text import BadInput, check_value
from labeling.models import Annotation, Assignment, Campaign, Item, Membership
from labeling.quality.consensus import schedule_refit
from labeling.rubric import RubricSchema, validate_values
from labeling.scores.refresh import score_summary_request

MAX_TASKS = 50_000
MAX_ID = 2**63 - 1
# The submit API's bound on time_spent_ms (a day), in seconds.
MAX_LEAD_S = 86_400


def ranker_ids(value: dict[str, Any]) -> list[str]:
    """Both shapes: {"ranker": [ids]} (docs) and {"ranker": {"rank": [ids]}} (SDK 2.1.2)."""
    ranked = value.get("ranker")
    if isinstance(ranked, dict):
        ranked = ranked.get("rank")
    if not isinstance(ranked, list):
        raise ValueError('a ranker value is {"ranker": [ids]} or {"ranker": {"rank": [ids]}}')
    return [str(x) for x in ranked]


def pairwise_choice(value: dict[str, Any]) -> str:
    selected = value.get("selected")
    if selected not in ("left", "right"):
        raise ValueError('a pairwise value is {"selected": "left" | "right"}')
    return str(selected)


def _finite_number(x: Any) -> TypeGuard[int | float]:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _one(dim: dict[str, Any], value: dict[str, Any]) -> Any:
    kind = dim["type"]
    if "ranker" in value:
        return ranker_ids(value)
    if "selected" in value:
        return pairwise_choice(value)
    if kind in ("choice", "multi_choice"):
        choices = value.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ValueError('expected {"choices": [...]}')
        return choices[0] if kind == "choice" and len(choices) == 1 else choices
    if kind == "likert":
        number = value.get("rating", value.get("number"))
        # Label Studio writes 0 for "not rated"; a list, a string or NaN is no rating at all.
        if not _finite_number(number) or number == 0:
            raise ValueError('expected {"rating": n} with n >= 1')
        return int(number) if float(number).is_integer() else number
    if kind == "text":
        text = value.get("text")
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            return "\n".join(text)
        if not isinstance(text, str):
            raise ValueError('expected {"text": [strings]}')
        return text
    raise ValueError(f"no Label Studio value maps onto a {kind} dimension")


def result_to_values(schema: dict[str, Any], result: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Assay values from Label Studio result regions, and a problem per bad region."""
    dims = {d["name"]: d for d in schema["dimensions"]}
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    if not isinstance(result, list):
        return values, {"result": "must be a list of regions"}
    for k, region in enumerate(result):
        where = f"result[{k}]"
        if not isinstance(region, dict) or not isinstance(region.get("value"), dict):
            problems[where] = "must be an object with from_name and value"
            continue
        name = region.get("from_name")
        dim = dims.get(name) if isinstance(name, str) else None
        if dim is None:
            problems[where] = f"unknown dimension {region.get('from_name')!r}"
            continue
        value = region["value"]
        try:
            if dim["type"] == "spans":
                labels = value.get("labels") or []
                if not isinstance(labels, list):
                    raise ValueError('expected {"start", "end", "labels": [...]}')
                for label in labels:
                    span = {"start": value.get("start"), "end": value.get("end"), "label": label}
                    values.setdefault(dim["name"], []).append(span)
            else:
                values[dim["name"]] = _one(dim, value)
        except ValueError as exc:
            problems[where] = str(exc)
    return values, problems


@dataclass
class _Row:
    item: Item
    annotator_id: int
    values: dict[str, Any]
    time_spent_ms: int | None


def _people(campaign: Campaign) -> tuple[set[int], dict[str, int]]:
    """Members who may label, by id and by email/username (Label Studio exports either)."""
    rows = Membership.objects.filter(
        campaign=campaign, role__in=[Membership.Role.ANNOTATOR, Membership.Role.ADMIN]
    ).values_list("user_id", "user__email", "user__username")
    by_name = {}
    for uid, email, username in rows:
        by_name[username] = uid
        if email:
            by_name[email] = uid
    return {r[0] for r in rows}, by_name


def _annotator(completed_by: Any, ids: set[int], by_name: dict[str, int]) -> int | None:
    if isinstance(completed_by, dict):
        for key in ("email", "username"):
            name = completed_by.get(key)
            if isinstance(name, str) and name in by_name:
                return by_name[name]
        completed_by = completed_by.get("id")
    if _an_id(completed_by) and completed_by in ids:
        return int(completed_by)
    return None


def _an_id(x: Any) -> bool:
    """An integer that can be a primary key (a bigger one would overflow the database's)."""
    return isinstance(x, int) and not isinstance(x, bool) and 0 < x <= MAX_ID


def _lead_ms(lead: Any) -> tuple[int | None, str | None]:
    """Label Studio's lead_time (seconds) as time_spent_ms, or the problem with it."""
    if lead is None:
        return None, None
    if not _finite_number(lead) or not 0 <= lead <= MAX_LEAD_S:
        return None, f"must be seconds between 0 and {MAX_LEAD_S}"
    return int(float(lead) * 1000), None


def _item_id(task: Any) -> Any:
    data = task.get("data") if isinstance(task, dict) else None
    return data.get("item_id") if isinstance(data, dict) else None


@dataclass
class _Context:
    """What every row of one import is checked against."""

    schema: dict[str, Any]
    items: dict[int, Item]
    annotator_ids: set[int]
    by_name: dict[str, int]
    taken: set[tuple[int, int]]  # (item, annotator) pairs already answered
    errors: dict[str, list[str]]

    def problem(self, where: str, reason: str) -> None:
        self.errors.setdefault(where, []).append(reason)


def _context(campaign: Campaign, tasks: list[Any], errors: dict[str, list[str]]) -> _Context:
    wanted = [w for w in map(_item_id, tasks) if _an_id(w)]
    by_id = {i.pk: i for i in Item.objects.filter(campaign=campaign, pk__in=wanted)}
    ids, by_name = _people(campaign)
    taken = set(
        Annotation.objects.filter(item__in=by_id.values()).values_list("item_id", "annotator_id")
    )
    return _Context(campaign.rubric.schema, by_id, ids, by_name, taken, errors)


def _row(ctx: _Context, item: Item, ann: dict[str, Any], where: str) -> _Row | None:
    who = _annotator(ann.get("completed_by"), ctx.annotator_ids, ctx.by_name)
    if who is None:
        ctx.problem(f"{where}.completed_by", "not an annotator of this campaign")
        return None
    if (item.pk, who) in ctx.taken:
        ctx.problem(f"{where}.completed_by", "already annotated this item")
        return None
    values, problems = result_to_values(ctx.schema, ann.get("result"))
    for field, reason in problems.items():
        ctx.problem(f"{where}.{field}", reason)
    ms, lead_problem = _lead_ms(ann.get("lead_time"))
    if lead_problem:
        ctx.problem(f"{where}.lead_time", lead_problem)
    try:
        cleaned = validate_values(cast(RubricSchema, ctx.schema), values, item.text)
    except DomainError as exc:
        for field, reasons in (exc.errors or {"values": [str(exc)]}).items():
            ctx.errors.setdefault(f"{where}.{field}", []).extend(reasons)
        return None
    ctx.taken.add((item.pk, who))
    return _Row(item, who, cleaned, ms)


def _rows(campaign: Campaign, tasks: list[Any], errors: dict[str, list[str]]) -> list[_Row]:
    ctx = _context(campaign, tasks, errors)
    rows: list[_Row] = []
    for i, task in enumerate(tasks):
        item_id = _item_id(task)
        item = ctx.items.get(item_id) if _an_id(item_id) else None
        if item is None:
            ctx.problem(f"tasks[{i}].data.item_id", "not an item of this campaign")
            continue
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            ctx.problem(f"tasks[{i}].annotations", "must be a list of annotations")
            continue
        for j, ann in enumerate(annotations):
            if not isinstance(ann, dict) or ann.get("was_cancelled"):
                continue
            row = _row(ctx, item, ann, f"tasks[{i}].annotations[{j}]")
            if row is not None:
                rows.append(row)
    return rows


def label_studio_import(*, campaign: Campaign, tasks: Any) -> int:
    """Store every annotation of a Label Studio export; returns how many were created."""
    if not isinstance(tasks, list):
        raise DomainError("a Label Studio export is a JSON list of tasks", field="tasks")
    try:
        check_value(tasks)
    except BadInput as exc:
        raise DomainError(
            "the Label Studio export holds text that cannot be stored",
            errors=bad_input_errors(exc, "tasks"),
        ) from exc
    if len(tasks) > MAX_TASKS:
        raise DomainError(f"at most {MAX_TASKS} tasks per import", field="tasks")
    errors: dict[str, list[str]] = {}
    rows = _rows(campaign, tasks, errors)
    if errors:
        raise DomainError("the Label Studio export does not fit this campaign", errors=errors)
    now = timezone.now()
    with transaction.atomic():
        assignments = Assignment.objects.bulk_create(
            Assignment(
                campaign=campaign,
                item=r.item,
                annotator_id=r.annotator_id,
                status=Assignment.Status.SUBMITTED,
                leased_at=now,
                expires_at=now + timedelta(minutes=1),
                finished_at=now,
            )
            for r in rows
        )
        Annotation.objects.bulk_create(
            Annotation(
                item=r.item,
                annotator_id=r.annotator_id,
                assignment=a,
                values=r.values,
                time_spent_ms=r.time_spent_ms,
            )
            for r, a in zip(rows, assignments, strict=True)
        )
        _recount(rows)
        transaction.on_commit(lambda: _after_import(campaign.pk))
    return len(rows)


def _recount(rows: list[_Row]) -> None:
    added: dict[int, int] = {}
    for r in rows:
        added[r.item.pk] = added.get(r.item.pk, 0) + 1
    for item_id, n in added.items():
        Item.objects.filter(pk=item_id).update(
            n_submitted=F("n_submitted") + n,
            open_slots=Greatest(F("open_slots") - n, 0),
        )


def _after_import(campaign_id: int) -> None:
    # Consensus for the imported labels, through the same debounced refit a submit asks for.
    schedule_refit(campaign_id)
    score_summary_request(campaign_id=campaign_id)
