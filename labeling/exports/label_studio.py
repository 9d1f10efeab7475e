"""Label Studio interoperability (label-studio-sdk 2.x): a rubric as a labeling config, items
with their annotations as Label Studio tasks, and a Label Studio JSON export read back.

Mapping (the result `value` shapes are Label Studio's):
  choice       -> <Choices choice="single-radio">   {"choices": [v]}
  multi_choice -> <Choices choice="multiple">       {"choices": [v, ...]}
  likert       -> <Rating maxRating=max> (min 1), otherwise <Number min max>
                                                     {"rating": v} / {"number": v}
  spans        -> <Labels>, one region per span     {"start", "end", "text", "labels": [v]}
  text         -> <TextArea>                         {"text": [v]}
A conditional dimension is shown with visibleWhen="choice-selected". Option values are the
stored choice values (the SDK validates values, not aliases); labels go in `hint`.
On import, Ranker values are accepted as {"ranker": [ids]} (docs) and {"ranker": {"rank": [ids]}}
(SDK 2.1.2), Pairwise as {"selected": "left"|"right"} with either to_name; they fill a choice
(pairwise) or multi_choice (ranker, order kept) dimension of the same name.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from core.text import scrub_value
from labeling.models import Campaign, Item
from labeling.rubric import Dimension, RubricSchema

OUTPUT = "output"
PROMPT = "prompt"


def _choices(dim: Dimension, multiple: bool) -> ET.Element:
    el = ET.Element(
        "Choices",
        name=dim["name"],
        toName=OUTPUT,
        choice="multiple" if multiple else "single-radio",
        required="true" if dim.get("required") else "false",
    )
    show_if = dim.get("show_if")
    if show_if:
        el.set("visibleWhen", "choice-selected")
        el.set("whenTagName", show_if["dimension"])
        el.set("whenChoiceValue", ",".join(show_if["in"]))
    for option in dim["options"]:
        ET.SubElement(el, "Choice", value=option["value"], hint=option.get("label", ""))
    return el


def _control(dim: Dimension) -> ET.Element | None:
    kind = dim["type"]
    if kind in ("choice", "multi_choice"):
        return _choices(dim, kind == "multi_choice")
    if kind == "likert":
        if dim["min"] == 1:
            return ET.Element(
                "Rating",
                name=dim["name"],
                toName=OUTPUT,
                maxRating=str(dim["max"]),
                required="true" if dim.get("required") else "false",
            )
        return ET.Element(
            "Number", name=dim["name"], toName=OUTPUT, min=str(dim["min"]), max=str(dim["max"])
        )
    if kind == "spans":
        el = ET.Element("Labels", name=dim["name"], toName=OUTPUT, choice="multiple")
        for label in dim["labels"]:
            ET.SubElement(el, "Label", value=label["value"], hint=label.get("label", ""))
        return el
    if kind == "text":
        return ET.Element("TextArea", name=dim["name"], toName=OUTPUT, rows="3", maxSubmissions="1")
    return None


def rubric_to_config(schema: RubricSchema) -> str:
    # A label stored with a lone surrogate (before inputs were checked) would make invalid XML.
    schema = scrub_value(schema)
    view = ET.Element("View")
    ET.SubElement(view, "Text", name=PROMPT, value=f"${PROMPT}")
    ET.SubElement(view, "Text", name=OUTPUT, value=f"${OUTPUT}")
    for dim in schema["dimensions"]:
        control = _control(dim)
        if control is not None:
            ET.SubElement(view, "Header", value=dim.get("label") or dim["name"])
            view.append(control)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode")


def label_interface(config: str) -> Any:
    from label_studio_sdk.label_interface import LabelInterface

    interface = LabelInterface(config)
    interface.validate()
    return interface


# --- export ----------------------------------------------------------------------------------


def _region(dim: dict[str, Any], rid: str, value: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": rid, "from_name": dim["name"], "to_name": OUTPUT, "type": kind, "value": value}


def values_to_result(
    schema: dict[str, Any], values: dict[str, Any], prefix: str
) -> list[dict[str, Any]]:
    """An Assay annotation's values as Label Studio result regions."""
    result: list[dict[str, Any]] = []
    for dim in schema["dimensions"]:
        name, kind = dim["name"], dim["type"]
        value = values.get(name)
        if value is None or value == [] or value == "":
            continue
        rid = f"{prefix}-{name}"
        if kind == "choice":
            result.append(_region(dim, rid, {"choices": [value]}, "choices"))
        elif kind == "multi_choice":
            result.append(_region(dim, rid, {"choices": list(value)}, "choices"))
        elif kind == "likert":
            key, tag = ("rating", "rating") if dim["min"] == 1 else ("number", "number")
            result.append(_region(dim, rid, {key: value}, tag))
        elif kind == "spans":
            for k, span in enumerate(value):
                region = {
                    "start": span["start"],
                    "end": span["end"],
                    "text": span.get("text", ""),
                    "labels": [span["label"]],
                }
                result.append(_region(dim, f"{rid}-{k}", region, "labels"))
        elif kind == "text":
            result.append(_region(dim, rid, {"text": [value]}, "textarea"))
    return result


def _prediction(schema: dict[str, Any], item: Item) -> list[dict[str, Any]]:
    harm = next(
        (d for d in schema["dimensions"] if d["name"] == "harm" and d.get("positive")), None
    )
    if harm is None or item.harm_probability is None:
        return []
    p = float(item.harm_probability)
    unsafe = harm["positive"][0]
    safe = next((o["value"] for o in harm["options"] if o["value"] != unsafe), unsafe)
    label = unsafe if p >= 0.5 else safe
    return [
        {
            "model_version": item.classifier_version or "classifier",
            "score": p if label == unsafe else 1 - p,
            "result": [_region(harm, f"pred-{item.pk}", {"choices": [label]}, "choices")],
        }
    ]


def export_tasks(campaign: Campaign, *, include_private: bool) -> Iterator[dict[str, Any]]:
    """Every item with its annotations (and the classifier's harm call as a prediction)."""
    schema = campaign.rubric.schema
    items = Item.objects.filter(campaign=campaign).select_related("prompt", "model").order_by("id")
    if not include_private:
        items = items.exclude(prompt__split="private")
    from labeling.models import Annotation

    chunk: list[Item] = []

    def flush(batch: list[Item]) -> Iterator[dict[str, Any]]:
        anns: dict[int, list[Annotation]] = {}
        for ann in Annotation.objects.filter(item__in=batch).order_by("id"):
            anns.setdefault(ann.item_id, []).append(ann)
        for item in batch:
            yield {
                "id": item.pk,
                "data": {
                    PROMPT: item.prompt.text,
                    OUTPUT: item.text,
                    "item_id": item.pk,
                    "model": item.model.name,
                    "split": item.prompt.split,
                    "category": item.prompt.category,
                },
                "annotations": [
                    {
                        "id": ann.pk,
                        "completed_by": ann.annotator_id,
                        "lead_time": (ann.time_spent_ms or 0) / 1000,
                        "created_at": ann.created_at.isoformat(),
                        "result": values_to_result(schema, ann.values, f"a{ann.pk}"),
                    }
                    for ann in anns.get(item.pk, [])
                ],
                "predictions": _prediction(schema, item),
            }

    for item in items.iterator(chunk_size=1000):
        chunk.append(item)
        if len(chunk) >= 1000:
            yield from flush(chunk)
            chunk = []
    yield from flush(chunk)
