"""Review: an admin's final value for an item and dimension (adjudication), and undoing it.

An adjudication overrides the consensus: the Consensus row takes the admin's value with method
"adjudicated" (which refits leave alone), and the Adjudication row keeps who, when, why and what
the model had fitted, so the override can be audited and undone.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from labeling.models import Adjudication, Annotation, Campaign, Consensus, Item
from labeling.quality.consensus import consensus_vote_item, schedule_refit
from labeling.rubric import Dimension, validate_values

MAX_NOTE = 2000


def _dimension(campaign: Campaign, name: Any) -> Dimension:
    dims = {d["name"]: d for d in campaign.rubric.schema["dimensions"]}
    dim = dims.get(name) if isinstance(name, str) else None
    if dim is None:
        raise DomainError(f"unknown dimension; expected one of {sorted(dims)}", field="dimension")
    if dim["type"] == "text":
        raise DomainError("free-text dimensions have no consensus", field="dimension")
    return dim


def _clean_value(dim: Dimension, value: Any, text: str) -> Any:
    """Validate one dimension's value on its own (its show_if is the reviewer's call)."""
    if dim["type"] == "spans" and value == []:
        return []  # the adjudicated answer "no harmful span here"
    single = copy.deepcopy(dim)
    single.pop("show_if", None)
    single["required"] = True
    try:
        cleaned = validate_values({"dimensions": [single]}, {dim["name"]: value}, text)
    except DomainError as exc:
        reasons = exc.errors.get(f"values.{dim['name']}", [str(exc)]) if exc.errors else [str(exc)]
        raise DomainError(
            "the value does not fit the dimension", errors={"value": reasons}
        ) from exc
    return cleaned[dim["name"]]


def _item(campaign: Campaign, item_id: int) -> Item:
    item = Item.objects.select_for_update().filter(campaign=campaign, pk=item_id).first()
    if item is None:
        raise DomainError("no such item in this campaign", status_code=404, code="not_found")
    return item


def adjudicate(
    *, campaign: Campaign, item_id: int, dimension: Any, value: Any, note: Any, user: User
) -> Adjudication:
    dim = _dimension(campaign, dimension)
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise DomainError(f"a note is text of at most {MAX_NOTE} characters", field="note")
    now = timezone.now()
    with transaction.atomic():
        item = _item(campaign, item_id)
        cleaned = _clean_value(dim, value, item.text)
        current = Consensus.objects.filter(item=item, dimension=dim["name"]).first()
        fitted = None
        if current is not None and current.method != Consensus.Method.ADJUDICATED:
            fitted = {
                "value": current.value,
                "confidence": current.confidence,
                "method": current.method,
            }
        adjudication, _ = Adjudication.objects.get_or_create(
            item=item,
            dimension=dim["name"],
            defaults={"campaign": campaign, "value": cleaned, "adjudicated_at": now},
        )
        adjudication.value, adjudication.note = cleaned, note
        adjudication.adjudicated_by, adjudication.adjudicated_at = user, now
        if fitted is not None:
            adjudication.fitted = fitted
        adjudication.save()
        n_labels = Annotation.objects.filter(item=item).count()
        Consensus.objects.update_or_create(
            item=item,
            dimension=dim["name"],
            defaults={
                "campaign": campaign,
                "value": cleaned,
                "confidence": 1.0,
                "posterior": None,
                "method": Consensus.Method.ADJUDICATED,
                "n_labels": n_labels,
            },
        )
    return adjudication


def adjudication_undo(*, campaign: Campaign, item_id: int, dimension: Any) -> None:
    """Back to the annotators' consensus: re-voted now, refitted with the campaign soon."""
    dim = _dimension(campaign, dimension)
    with transaction.atomic():
        item = _item(campaign, item_id)
        deleted, _ = Adjudication.objects.filter(item=item, dimension=dim["name"]).delete()
        if not deleted:
            raise DomainError("this item has no adjudication on that dimension", field="dimension")
        Consensus.objects.filter(
            item=item, dimension=dim["name"], method=Consensus.Method.ADJUDICATED
        ).delete()
        if not item.is_gold:
            consensus_vote_item(item=item, campaign=campaign)
        schedule_refit(campaign.pk)
