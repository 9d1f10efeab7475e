"""The API's strict JSON parser (core/parsers.py) and JSON fields (core/api.py): a body or a
form field that cannot be stored is a 400 naming the field, and nothing is stored."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rest_framework.exceptions import ParseError, ValidationError

from core.parsers import StrictJSONParser
from labeling.models import Annotation, Assignment, Campaign, Membership
from labeling.queue.services import assignment_next
from tests.factories import valid_values
from tests.labeling.factories_extra import FAST_HASHERS, campaign_with_items, member


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _parse(body: str) -> Any:
    return StrictJSONParser().parse(io.BytesIO(body.encode()), "application/json", {})


def test_parser_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        _parse('{"values": {"rationale": "x \\udc00 y"}}')
    assert list(info.value.detail) == ["values.rationale"]
    with pytest.raises(ValidationError) as info:
        _parse('{"tasks": [{"lead_time": NaN}]}')
    assert list(info.value.detail) == ["tasks[0].lead_time"]
    with pytest.raises(ValidationError) as info:
        _parse("[" * 50_000 + "]" * 50_000)
    assert list(info.value.detail) == ["request"]
    with pytest.raises(ParseError):
        _parse('{"a": ')
    assert _parse('{"a": ["😀", 1.5]}') == {"a": ["😀", 1.5]}


def test_parser_refuses_a_body_that_is_not_its_charset() -> None:
    with pytest.raises(ParseError):
        StrictJSONParser().parse(io.BytesIO(b'"\xff"'), "application/json", {})
    with pytest.raises(ParseError):
        StrictJSONParser().parse(io.BytesIO(b'""'), "application/json", {"encoding": "bz2_codec"})


def _lease(api: Any) -> tuple[Assignment, str]:
    campaign = campaign_with_items(1)
    user = member(campaign)
    api.force_authenticate(user)
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None
    return lease, f"/api/assignments/{lease.pk}/submit/"


def _values_json(rationale_json: str) -> str:
    values = json.dumps(valid_values())[:-1] + f', "rationale": {rationale_json}}}'
    return f'{{"values": {values}}}'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_values_json('"x \\udc00 y"'), "values.rationale"),
        (_values_json('"\\ud83d"'), "values.rationale"),
        (_values_json('"nul \\u0000"'), "values.rationale"),
        ('{"values": {"fluency": NaN}}', "values.fluency"),
        ('{"values": {}, "time_spent_ms": Infinity}', "time_spent_ms"),
        ("[" * 50_000 + "]" * 50_000, "request"),
    ],
)
def test_submit_with_text_that_cannot_be_stored_is_a_400(api: Any, body: str, field: str) -> None:
    lease, url = _lease(api)
    r = api.post(url, body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert set(r.json()) >= {"detail", "code", "errors"}
    assert list(r.json()["errors"]) == [field]
    assert not Annotation.objects.exists()
    lease.refresh_from_db()
    assert lease.status == Assignment.Status.ACTIVE


@pytest.mark.django_db
def test_submit_as_a_form_checks_the_json_string_too(api: Any) -> None:
    url = _lease(api)[1]
    values = json.dumps(valid_values())[:-1] + ', "rationale": "x \\udc00 y"}'
    r = api.post(url, {"values": values}, format="multipart")
    assert r.status_code == 400, r.content
    assert list(r.json()["errors"]) == ["values.rationale"]
    r = api.post(url, {"values": "[" * 50_000 + "]" * 50_000}, format="multipart")
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["values"]
    assert not Annotation.objects.exists()


@pytest.mark.django_db
def test_submit_with_an_emoji_still_works(api: Any) -> None:
    url = _lease(api)[1]
    r = api.post(url, _values_json('"fine \\ud83d\\ude00"'), content_type="application/json")
    assert r.status_code == 201, r.content
    assert Annotation.objects.get().values["rationale"] == "fine 😀"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"name": "x \\udc00"}', "name"),
        ('{"name": "ok", "instructions": "\\udfff"}', "instructions"),
        (
            '{"name": "ok", "rubric": {"dimensions": [{"name": "\\ud800"}]}}',
            "rubric.dimensions[0].name",
        ),
    ],
)
def test_campaign_fields_with_lone_surrogates_are_a_400(
    api: Any, body: str, field: str, campaign: Campaign
) -> None:
    admin = member(campaign, Membership.Role.ADMIN)
    admin.is_staff = True
    admin.save()
    api.force_authenticate(admin)
    before = Campaign.objects.count()
    r = api.post("/api/campaigns/", body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert list(r.json()["errors"]) == [field]
    r = api.patch(f"/api/campaigns/{campaign.pk}/", body, content_type="application/json")
    assert r.status_code == 400, r.content
    assert list(r.json()["errors"]) == [field]
    assert Campaign.objects.count() == before
    campaign.refresh_from_db()
    assert "\ufffd" not in campaign.name


@pytest.mark.django_db
def test_campaign_rubric_as_a_form_field_is_checked(api: Any) -> None:
    staff = member(campaign_with_items(0))
    staff.is_staff = True
    staff.save()
    api.force_authenticate(staff)
    rubric = '{"dimensions": [{"name": "\\ud800", "type": "text"}]}'
    r = api.post("/api/campaigns/", {"name": "x", "rubric": rubric}, format="multipart")
    assert r.status_code == 400, r.content
    assert list(r.json()["errors"]) == ["rubric.dimensions[0].name"]


@pytest.mark.django_db
def test_views_with_their_own_parsers_parse_json_strictly(api: Any, campaign: Campaign) -> None:
    api.force_authenticate(member(campaign, Membership.Role.ADMIN))
    deep = "[" * 50_000 + "]" * 50_000
    for url in ("prompts/import/", "label-studio/import/"):
        r = api.post(f"/api/campaigns/{campaign.pk}/{url}", deep, content_type="application/json")
        assert r.status_code == 400, (url, r.content)
        assert list(r.json()["errors"]) == ["request"]
