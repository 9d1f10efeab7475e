"""Reading a Label Studio JSON export back as annotations: all rows or none, every problem
reported with its place in the file (tasks[i].annotations[j].<field>)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from core.errors import DomainError
from labeling.models import Annotation, Assignment, Campaign, Item, Membership
from labeling.quality.consensus import schedule_refit
from labeling.rubric import validate_values
from labeling.scores.refresh import score_summary_request

MAX_TASKS = 50_000


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
        if number is None or number == 0:  # Label Studio writes 0 for "not rated"
            raise ValueError('expected {"rating": n} with n >= 1')
        return int(number) if float(number).is_integer() else number
    if kind == "text":
        text = value.get("text")
        return "\n".join(text) if isinstance(text, list) else text
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
        dim = dims.get(region.get("from_name", ""))
        if dim is None:
            problems[where] = f"unknown dimension {region.get('from_name')!r}"
            continue
        value = region["value"]
        try:
            if dim["type"] == "spans":
                for label in value.get("labels") or []:
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
            if completed_by.get(key) in by_name:
                return by_name[completed_by[key]]
        completed_by = completed_by.get("id")
    if isinstance(completed_by, int) and completed_by in ids:
        return completed_by
    return None


def _rows(campaign: Campaign, tasks: list[Any], errors: dict[str, list[str]]) -> list[_Row]:
    schema = campaign.rubric.schema
    wanted = [t.get("data", {}).get("item_id") for t in tasks if isinstance(t, dict)]
    items = Item.objects.filter(campaign=campaign, pk__in=[w for w in wanted if isinstance(w, int)])
    by_id = {i.pk: i for i in items}
    ids, by_name = _people(campaign)
    taken = set(
        Annotation.objects.filter(item__in=by_id.values()).values_list("item_id", "annotator_id")
    )
    rows: list[_Row] = []
    for i, task in enumerate(tasks):
        data = task.get("data") if isinstance(task, dict) else None
        item_id = data.get("item_id") if isinstance(data, dict) else None
        item = by_id.get(item_id) if isinstance(item_id, int) else None
        if item is None:
            errors.setdefault(f"tasks[{i}].data.item_id", []).append("not an item of this campaign")
            continue
        for j, ann in enumerate(task.get("annotations") or []):
            where = f"tasks[{i}].annotations[{j}]"
            if not isinstance(ann, dict) or ann.get("was_cancelled"):
                continue
            who = _annotator(ann.get("completed_by"), ids, by_name)
            if who is None:
                errors.setdefault(f"{where}.completed_by", []).append(
                    "not an annotator of this campaign"
                )
                continue
            if (item.pk, who) in taken:
                errors.setdefault(f"{where}.completed_by", []).append("already annotated this item")
                continue
            values, problems = result_to_values(schema, ann.get("result"))
            for field, reason in problems.items():
                errors.setdefault(f"{where}.{field}", []).append(reason)
            try:
                cleaned = validate_values(schema, values, item.text)
            except DomainError as exc:
                for field, reasons in (exc.errors or {"values": [str(exc)]}).items():
                    errors.setdefault(f"{where}.{field}", []).extend(reasons)
                continue
            taken.add((item.pk, who))
            lead = ann.get("lead_time")
            ms = int(float(lead) * 1000) if isinstance(lead, int | float) and lead >= 0 else None
            rows.append(_Row(item, who, cleaned, ms))
    return rows


def label_studio_import(*, campaign: Campaign, tasks: Any) -> int:
    """Store every annotation of a Label Studio export; returns how many were created."""
    if not isinstance(tasks, list):
        raise DomainError("a Label Studio export is a JSON list of tasks", field="tasks")
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
