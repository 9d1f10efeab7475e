"""Label Studio: the rubric as a config the SDK validates, tasks whose annotations the SDK's
label interface accepts, and an import that gives back exactly the annotations exported."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.db.models import F
from django.db.models.functions import Greatest
from label_studio_sdk.label_interface import LabelInterface

from labeling.exports.label_studio import export_tasks, rubric_to_config
from labeling.exports.label_studio_import import pairwise_choice, ranker_ids, result_to_values
from labeling.models import Annotation, Assignment, Item, Membership, Rubric
from labeling.rubric import default_rubric
from tests.factories import MembershipFactory, valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    item_for,
    make_campaign,
    make_model,
    make_user,
    submitted,
)

SPANS = [
    {"start": 0, "end": 3, "label": "toxic", "text": "The"},
    {"start": 4, "end": 11, "label": "false_claim", "text": "capital"},
]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _label(item: Item, annotator: Any, values: dict[str, Any]) -> None:
    submitted(item, annotator, values, time_spent_ms=2500)
    Item.objects.filter(pk=item.pk).update(
        n_submitted=F("n_submitted") + 1, open_slots=Greatest(F("open_slots") - 1, 0)
    )


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    campaign = make_campaign()
    admin, viewer, outsider = make_user(), make_user(), make_user()
    annotators = [make_user(email=f"ann{i}@example.org") for i in range(2)]
    MembershipFactory.create(campaign=campaign, user=admin, role=Membership.Role.ADMIN)
    MembershipFactory.create(campaign=campaign, user=viewer, role=Membership.Role.VIEWER)
    for a in annotators:
        MembershipFactory.create(campaign=campaign, user=a, role=Membership.Role.ANNOTATOR)
    model = make_model(name="lm")
    items = [
        item_for(campaign, model=model, harm_probability=0.8, classifier_version="v3")
        for _ in range(3)
    ]
    _label(
        items[0],
        annotators[0],
        valid_values(
            harm="unsafe", hazard="weapons", harmful_spans=SPANS, rationale="how-to for a weapon"
        ),
    )
    _label(
        items[0],
        annotators[1],
        valid_values(bias="explicit", bias_target=["religion", "age"], fluency=2),
    )
    _label(items[1], annotators[0], valid_values(truthfulness="partly_false", informative="no"))
    return {
        "campaign": campaign,
        "admin": admin,
        "viewer": viewer,
        "outsider": outsider,
        "annotators": annotators,
        "items": items,
    }


def test_default_rubric_config_validates_with_the_sdk() -> None:
    config = rubric_to_config(default_rubric())
    interface = LabelInterface(config)
    interface.validate()
    tags = {c.name: c.tag for c in interface.controls}
    assert tags == {
        "harm": "Choices",
        "hazard": "Choices",
        "bias": "Choices",
        "bias_target": "Choices",
        "truthfulness": "Choices",
        "informative": "Choices",
        "fluency": "Rating",
        "harmful_spans": "Labels",
        "rationale": "TextArea",
    }
    assert {o.name for o in interface.objects} == {"prompt", "output"}
    assert 'whenTagName="harm"' in config and 'whenChoiceValue="unsafe"' in config
    assert 'maxRating="5"' in config


def test_exported_tasks_validate_with_the_label_interface(world: dict[str, Any]) -> None:
    interface = LabelInterface(rubric_to_config(world["campaign"].rubric.schema))
    tasks = list(export_tasks(world["campaign"], include_private=False))
    assert [t["id"] for t in tasks] == [i.pk for i in world["items"]]
    first = tasks[0]
    assert first["data"]["output"] == world["items"][0].text
    assert len(first["annotations"]) == 2 and first["annotations"][0]["lead_time"] == 2.5
    regions = first["annotations"][0]["result"]
    spans = [r for r in regions if r["type"] == "labels"]
    assert [r["value"]["labels"] for r in spans] == [["toxic"], ["false_claim"]]
    assert first["predictions"][0]["model_version"] == "v3"
    assert first["predictions"][0]["score"] == pytest.approx(0.8)
    for task in tasks:
        for ann in task["annotations"] + task["predictions"]:
            assert interface.validate_prediction(ann, return_errors=True) == []


def test_export_bundle_through_the_api(world: dict[str, Any], client_as: Any) -> None:
    url = f"/api/campaigns/{world['campaign'].pk}/export/?as=label_studio"
    r = client_as(world["viewer"]).get(url)
    assert r.status_code == 200
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    assert set(bundle.namelist()) == {"config.xml", "tasks.json", "DATASHEET.md"}
    tasks = json.loads(bundle.read("tasks.json"))
    assert len(tasks) == 3 and sum(len(t["annotations"]) for t in tasks) == 3
    LabelInterface(bundle.read("config.xml").decode()).validate()
    config = client_as(world["viewer"]).get(
        f"/api/campaigns/{world['campaign'].pk}/label-studio/config/"
    )
    assert config.status_code == 200 and config.content == bundle.read("config.xml")


def _stored(campaign: Any) -> set[tuple[int, int, str, int | None]]:
    return {
        (a.item_id, a.annotator_id, json.dumps(a.values, sort_keys=True), a.time_spent_ms)
        for a in Annotation.objects.filter(item__campaign=campaign)
    }


def test_round_trip_export_then_import_gives_the_same_annotations(
    world: dict[str, Any], client_as: Any
) -> None:
    campaign = world["campaign"]
    before = _stored(campaign)
    counters = sorted(
        Item.objects.filter(campaign=campaign).values_list("id", "n_submitted", "open_slots")
    )
    tasks = list(export_tasks(campaign, include_private=False))
    Annotation.objects.filter(item__campaign=campaign).delete()
    Assignment.objects.filter(campaign=campaign).delete()
    Item.objects.filter(campaign=campaign).update(n_submitted=0, open_slots=campaign.overlap)
    url = f"/api/campaigns/{campaign.pk}/label-studio/import/"
    r = client_as(world["admin"]).post(url, {"tasks": tasks}, format="json")
    assert r.status_code == 201, r.content
    assert r.json() == {"created": 3}
    assert _stored(campaign) == before
    assert sorted(
        Item.objects.filter(campaign=campaign).values_list("id", "n_submitted", "open_slots")
    ) == [(i, n, max(campaign.overlap - n, 0)) for i, n, _ in counters]
    # A second import of the same file is refused whole: those annotators already answered.
    again = client_as(world["admin"]).post(url, {"tasks": tasks}, format="json")
    assert again.status_code == 400
    assert "tasks[0].annotations[0].completed_by" in again.json()["errors"]


def test_import_maps_label_studio_users_by_email(world: dict[str, Any], client_as: Any) -> None:
    item = world["items"][2]
    task = {
        "data": {"item_id": item.pk},
        "annotations": [
            {
                "completed_by": {"id": 991, "email": "ann1@example.org"},
                "result": [
                    {
                        "from_name": "harm",
                        "to_name": "output",
                        "type": "choices",
                        "value": {"choices": ["safe"]},
                    },
                    {
                        "from_name": "bias",
                        "to_name": "output",
                        "type": "choices",
                        "value": {"choices": ["none"]},
                    },
                    {
                        "from_name": "truthfulness",
                        "to_name": "output",
                        "type": "choices",
                        "value": {"choices": ["truthful"]},
                    },
                    {
                        "from_name": "informative",
                        "to_name": "output",
                        "type": "choices",
                        "value": {"choices": ["yes"]},
                    },
                    {
                        "from_name": "fluency",
                        "to_name": "output",
                        "type": "rating",
                        "value": {"rating": 4},
                    },
                ],
            }
        ],
    }
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    upload = io.BytesIO(json.dumps([task]).encode())
    upload.name = "export.json"
    r = client_as(world["admin"]).post(url, {"file": upload}, format="multipart")
    assert r.status_code == 201, r.content
    stored = Annotation.objects.get(item=item)
    assert stored.annotator_id == world["annotators"][1].pk
    assert stored.values["fluency"] == 4


def test_import_reports_every_problem_and_writes_nothing(
    world: dict[str, Any], client_as: Any
) -> None:
    good = world["items"][2]
    tasks = [
        {"data": {"item_id": 999_999}, "annotations": []},
        {
            "data": {"item_id": good.pk},
            "annotations": [
                {"completed_by": world["outsider"].pk, "result": []},
                {
                    "completed_by": world["annotators"][1].pk,
                    "result": [
                        {
                            "from_name": "harm",
                            "to_name": "output",
                            "type": "choices",
                            "value": {"choices": ["maybe"]},
                        },
                        {
                            "from_name": "mood",
                            "to_name": "output",
                            "type": "choices",
                            "value": {"choices": ["x"]},
                        },
                        {
                            "from_name": "fluency",
                            "to_name": "output",
                            "type": "rating",
                            "value": {"rating": 0},
                        },
                    ],
                },
            ],
        },
    ]
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    r = client_as(world["admin"]).post(url, {"tasks": tasks}, format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert "tasks[0].data.item_id" in errors
    assert "tasks[1].annotations[0].completed_by" in errors
    assert "unknown dimension 'mood'" in errors["tasks[1].annotations[1].result[1]"]
    assert "rating" in errors["tasks[1].annotations[1].result[2]"][0]
    assert not Annotation.objects.filter(item=good).exists()


@pytest.mark.parametrize("body", [{"tasks": {"not": "a list"}}, {}, {"tasks": "[]"}])
def test_import_bad_input(world: dict[str, Any], client_as: Any, body: dict[str, Any]) -> None:
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    r = client_as(world["admin"]).post(url, body, format="json")
    assert r.status_code == 400
    assert "tasks" in r.json()["errors"]


def test_import_is_for_admins_of_the_campaign(world: dict[str, Any], client_as: Any) -> None:
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    assert client_as(world["viewer"]).post(url, {"tasks": []}, format="json").status_code == 403
    assert client_as(world["outsider"]).post(url, {"tasks": []}, format="json").status_code == 404


def test_ranker_and_pairwise_in_both_shapes(db: Any) -> None:
    assert ranker_ids({"ranker": ["b", "a"]}) == ["b", "a"]
    assert ranker_ids({"ranker": {"rank": ["c", "a"]}}) == ["c", "a"]
    assert pairwise_choice({"selected": "left"}) == "left"
    with pytest.raises(ValueError):
        ranker_ids({"ranker": "a,b"})
    with pytest.raises(ValueError):
        pairwise_choice({"selected": "middle"})
    schema = {
        "dimensions": [
            {
                "name": "preference",
                "type": "choice",
                "label": "Better",
                "required": True,
                "options": [
                    {"value": "left", "label": "Left"},
                    {"value": "right", "label": "Right"},
                ],
            },
            {
                "name": "ranking",
                "type": "multi_choice",
                "label": "Order",
                "required": False,
                "options": [{"value": v, "label": v} for v in "abc"],
            },
        ]
    }
    Rubric.objects.create(name="pairwise", schema=schema)
    for ranked in ({"ranker": ["b", "a"]}, {"ranker": {"rank": ["b", "a"]}}):
        values, problems = result_to_values(
            schema,
            [
                # The SDK writes Pairwise's to_name as its own name: it is not relied on.
                {
                    "from_name": "preference",
                    "to_name": "preference",
                    "type": "pairwise",
                    "value": {"selected": "right"},
                },
                {"from_name": "ranking", "to_name": "output", "type": "ranker", "value": ranked},
            ],
        )
        assert problems == {}
        assert values == {"preference": "right", "ranking": ["b", "a"]}


def _region(name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"from_name": name, "to_name": "output", "type": kind, "value": value}


def _good_task(world: dict[str, Any]) -> dict[str, Any]:
    """One valid task for the unlabeled item, to be broken one field at a time."""
    result = [
        _region("harm", "choices", {"choices": ["safe"]}),
        _region("bias", "choices", {"choices": ["none"]}),
        _region("truthfulness", "choices", {"choices": ["truthful"]}),
        _region("informative", "choices", {"choices": ["yes"]}),
        _region("fluency", "rating", {"rating": 4}),
    ]
    annotation = {"completed_by": world["annotators"][0].pk, "lead_time": 3.5, "result": result}
    return {"data": {"item_id": world["items"][2].pk}, "annotations": [annotation]}


def _set(task: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    node: Any = task
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return task


_ANN = ["annotations", 0]
_BAD_TASKS = [
    (["data"], "[1, 2]", "tasks[0].data.item_id"),
    (["data"], {"item_id": 2**63}, "tasks[0].data.item_id"),
    (["data"], {"item_id": True}, "tasks[0].data.item_id"),
    (["annotations"], 5, "tasks[0].annotations"),
    ([*_ANN, "completed_by"], [1], "tasks[0].annotations[0].completed_by"),
    ([*_ANN, "completed_by"], {"email": ["a"]}, "tasks[0].annotations[0].completed_by"),
    ([*_ANN, "completed_by"], 2**64, "tasks[0].annotations[0].completed_by"),
    ([*_ANN, "result", 0, "from_name"], ["harm"], "tasks[0].annotations[0].result[0]"),
    ([*_ANN, "result", 4, "value"], {"rating": [4]}, "tasks[0].annotations[0].result[4]"),
    ([*_ANN, "result", 4, "value"], {"rating": "4"}, "tasks[0].annotations[0].result[4]"),
    ([*_ANN, "result", 4, "value"], {"rating": 1e300}, "tasks[0].annotations[0].values.fluency"),
    ([*_ANN, "lead_time"], 1e300, "tasks[0].annotations[0].lead_time"),
    ([*_ANN, "lead_time"], -1, "tasks[0].annotations[0].lead_time"),
]


@pytest.mark.parametrize(("path", "value", "field"), _BAD_TASKS)
def test_import_of_a_malformed_task_is_a_400_naming_it(
    world: dict[str, Any], client_as: Any, path: list[Any], value: Any, field: str
) -> None:
    task = _set(_good_task(world), path, value)
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    before = Annotation.objects.count()
    r = client_as(world["admin"]).post(url, {"tasks": [task]}, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"], r.json()
    assert Annotation.objects.count() == before


@pytest.mark.parametrize(
    ("region", "field"),
    [
        (_region("rationale", "textarea", {"text": [1, 2]}), "result[5]"),
        (_region("rationale", "textarea", {"text": {"a": 1}}), "result[5]"),
        (_region("harmful_spans", "labels", {"start": 0, "end": 3, "labels": 5}), "result[5]"),
        (
            _region("harmful_spans", "labels", {"start": 0, "end": 3, "labels": [["toxic"]]}),
            "values.harmful_spans",
        ),
    ],
)
def test_import_of_malformed_text_and_span_regions(
    world: dict[str, Any], client_as: Any, region: dict[str, Any], field: str
) -> None:
    task = _good_task(world)
    task["annotations"][0]["result"].append(region)
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    r = client_as(world["admin"]).post(url, {"tasks": [task]}, format="json")
    assert r.status_code == 400, r.content
    assert f"tasks[0].annotations[0].{field}" in r.json()["errors"], r.json()
    assert not Annotation.objects.filter(item=world["items"][2]).exists()


def _upload(text: str) -> io.BytesIO:
    upload = io.BytesIO(text.encode("utf-8", "surrogatepass"))
    upload.name = "export.json"
    return upload


@pytest.mark.parametrize(
    ("replace", "field"),
    [
        (("3.5", "Infinity"), "tasks[0].annotations[0].lead_time"),
        (("3.5", "NaN"), "tasks[0].annotations[0].lead_time"),
        (('"safe"', '"\\udc00"'), "tasks[0].annotations[0].result[0].value.choices[0]"),
    ],
)
def test_import_of_a_file_parses_it_strictly(
    world: dict[str, Any], client_as: Any, replace: tuple[str, str], field: str
) -> None:
    text = json.dumps([_good_task(world)]).replace(*replace, 1)
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    r = client_as(world["admin"]).post(url, {"file": _upload(text)}, format="multipart")
    assert r.status_code == 400, r.content
    assert list(r.json()["errors"]) == [field]
    assert not Annotation.objects.filter(item=world["items"][2]).exists()


def test_import_of_a_file_that_is_not_utf8_or_too_deep(
    world: dict[str, Any], client_as: Any
) -> None:
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    for data in (b"\xff\xfe[", ("[" * 50_000 + "]" * 50_000).encode()):
        upload = io.BytesIO(data)
        upload.name = "export.json"
        r = client_as(world["admin"]).post(url, {"file": upload}, format="multipart")
        assert r.status_code == 400, r.content
        assert list(r.json()["errors"]) == ["file"]


def test_import_with_a_lone_surrogate_inline_or_as_a_form_field(
    world: dict[str, Any], client_as: Any
) -> None:
    task = _good_task(world)
    task["annotations"][0]["result"].append(_region("rationale", "textarea", {"text": ["x"]}))
    body = json.dumps({"tasks": [task]}).replace('["x"]', '["x \\udc00"]')
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    where = "tasks[0].annotations[0].result[5].value.text[0]"
    r = client_as(world["admin"]).post(url, body, content_type="application/json")
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [where]
    form = {"tasks": json.dumps([task]).replace('["x"]', '["x \\udc00"]')}
    r = client_as(world["admin"]).post(url, form, format="multipart")
    assert r.status_code == 400
    assert list(r.json()["errors"]) == [where]
    assert not Annotation.objects.filter(item=world["items"][2]).exists()


def test_the_good_task_imports(world: dict[str, Any], client_as: Any) -> None:
    url = f"/api/campaigns/{world['campaign'].pk}/label-studio/import/"
    r = client_as(world["admin"]).post(url, {"tasks": [_good_task(world)]}, format="json")
    assert r.status_code == 201, r.content
    assert Annotation.objects.get(item=world["items"][2]).time_spent_ms == 3500
