"""Held-out (private) prompts: who was shown which (the exposure log), who may be leased them
(private_annotators), and the skip cap that stops paging through them with next-then-skip."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import DomainError
from labeling.models import Assignment, Campaign, Item, Membership, PrivateExposure
from labeling.queue import sql
from labeling.queue.selectors import annotator_progress
from labeling.queue.services import (
    annotation_submit,
    assignment_leases,
    assignment_next,
    assignment_skip,
)
from tests.factories import valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    make_campaign,
    make_item,
    make_prompt,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _campaign(public: int, private: int, **kwargs: Any) -> Campaign:
    campaign = make_campaign(**kwargs)
    for split, n in (("public", public), ("private", private)):
        for _ in range(n):
            make_item(campaign=campaign, prompt=make_prompt(campaign=campaign, split=split))
    return campaign


def _split(lease: Assignment) -> str:
    return str(Item.objects.get(pk=lease.item_id).prompt.split)


def _drain(campaign: Campaign, user: Any) -> list[str]:
    """Every item `next` hands this annotator until nothing is left: their prompts' splits."""
    splits = []
    while (lease := assignment_next(campaign=campaign, user=user)) is not None:
        splits.append(_split(lease))
        annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
    return splits


# --- (a) the exposure log ---------------------------------------------------------------------


def test_a_lease_of_a_private_item_is_logged_once() -> None:
    campaign = _campaign(0, 1)
    user = member(campaign)
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None
    again = assignment_next(campaign=campaign, user=user)  # a reload: the same lease
    assert again is not None and again.pk == lease.pk
    [seen] = PrivateExposure.objects.all()
    item = Item.objects.get(pk=lease.item_id)
    assert (seen.campaign_id, seen.prompt_id, seen.item_id, seen.annotator_id) == (
        campaign.pk,
        item.prompt_id,
        item.pk,
        user.pk,
    )
    assert seen.shown_at == lease.leased_at


def test_public_items_are_not_logged_and_prefetched_private_ones_are() -> None:
    campaign = _campaign(1, 1, overlap=1)
    user = member(campaign)
    leases = assignment_leases(campaign=campaign, user=user, ahead=1)
    assert sorted(_split(lease) for lease in leases) == ["private", "public"]
    private = next(lease for lease in leases if _split(lease) == "private")
    assert list(PrivateExposure.objects.values_list("item_id", flat=True)) == [private.item_id]


def _next_statements(campaign: Campaign) -> list[str]:
    now = timezone.now()  # the same clock for both: the second finds the reclaim just done
    assignment_next(campaign=campaign, user=member(campaign), now=now)  # warm: reclaim, caches
    user = member(campaign)
    with CaptureQueriesContext(connection) as ctx:
        assert assignment_next(campaign=campaign, user=user, now=now) is not None
    return [q["sql"] for q in ctx.captured_queries]


def test_the_exposure_costs_next_at_most_one_statement() -> None:
    public = _next_statements(_campaign(2, 0, overlap=1))
    private = _next_statements(_campaign(0, 2, overlap=1))
    # Restricted: the check reads the membership `next` loads anyway.
    restricted = _next_statements(_campaign(2, 2, overlap=1, private_restricted=True))
    assert len(restricted) == len(public), (public, restricted)
    if connection.vendor == "postgresql":
        # A CTE of the statement that picks and leases: no statement more.
        assert len(private) == len(public), (public, private)
        return
    assert len(private) == len(public) + 1, (public, private)
    assert not any("labeling_privateexposure" in q for q in public)
    assert sum("labeling_privateexposure" in q for q in private) == 1


def test_exposures_api_lists_filters_and_exports(
    people: dict[str, Any], client_as: Any, campaign: Campaign
) -> None:
    for _ in range(2):
        make_item(campaign=campaign, prompt=make_prompt(campaign=campaign, split="private"))
    first, second = people["annotator"], member(campaign)
    leases = assignment_leases(campaign=campaign, user=first, ahead=1)
    assignment_next(campaign=campaign, user=second)
    other = _campaign(0, 1)
    assignment_next(campaign=other, user=member(other))  # another campaign's: never listed
    url = f"/api/campaigns/{campaign.pk}/private-exposures/"
    api = client_as(people["admin"])
    body = api.get(url).json()
    expected = PrivateExposure.objects.filter(campaign=campaign).count()
    assert body["count"] == expected == 3
    row = body["results"][0]
    assert set(row) == {
        "id",
        "shown_at",
        "annotator",
        "username",
        "prompt",
        "prompt_external_id",
        "item",
    }
    mine = api.get(url + f"?annotator={first.pk}").json()["results"]
    assert {r["item"] for r in mine} == {lease.item_id for lease in leases}
    assert {r["username"] for r in mine} == {first.username}
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api.get(url, {"since": later}).json()["count"] == 0
    r = api.get(url + "?as=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert len(table) == expected
    assert set(table[0]) == set(row)


@pytest.mark.parametrize(
    ("query", "field"),
    [("annotator=me", "annotator"), ("since=yesterday", "since"), ("as=xlsx", "as")],
)
def test_exposures_api_bad_input(
    people: dict[str, Any], client_as: Any, campaign: Campaign, query: str, field: str
) -> None:
    r = client_as(people["admin"]).get(f"/api/campaigns/{campaign.pk}/private-exposures/?{query}")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"]


def test_exposures_api_query_count_does_not_grow(
    people: dict[str, Any], client_as: Any, campaign: Campaign
) -> None:
    api = client_as(people["admin"])
    url = f"/api/campaigns/{campaign.pk}/private-exposures/"

    def grow(n: int) -> int:
        for _ in range(n):
            make_item(campaign=campaign, prompt=make_prompt(campaign=campaign, split="private"))
            assignment_next(campaign=campaign, user=member(campaign))
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert grow(2) == grow(6) <= 3


# --- (b) who may be leased private items ------------------------------------------------------


def test_a_non_allowed_annotator_never_receives_a_private_item() -> None:
    campaign = _campaign(3, 4, overlap=3, private_restricted=True, gold_rate=0.5)
    for item in Item.objects.filter(campaign=campaign, prompt__split="private")[:2]:
        item.is_gold, item.gold_values, item.open_slots = True, valid_values(), 0
        item.save()
    outsider, insider = member(campaign), member(campaign)
    Membership.objects.filter(user=insider).update(private_access=True)
    admin = member(campaign, Membership.Role.ADMIN)
    assert annotator_progress(campaign, outsider)["available"] == 3
    assert sorted(_drain(campaign, outsider)) == ["public"] * 3
    assert not PrivateExposure.objects.filter(annotator=outsider).exists()
    assert annotator_progress(campaign, outsider)["available"] == 0
    assert sorted(_drain(campaign, insider)).count("private") >= 2
    assert "private" in _drain(campaign, admin)


@pytest.mark.parametrize(
    ("order", "index"),
    [("random", "item_next_open"), ("priority", "item_next_priority"), ("gold", "item_gold")],
)
def test_the_public_only_pick_keeps_its_index(order: str, index: str) -> None:
    campaign = _campaign(20, 10)
    Item.objects.filter(pk__in=Item.objects.filter(campaign=campaign).values("pk")[:5]).update(
        is_gold=True, open_slots=0
    )
    user = member(campaign)
    where, order_by = sql._where(order, True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        pick = sql._PICK.format(where=where, order=order_by)
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + pick, [campaign.pk, user.pk])
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + pick, [campaign.pk, user.pk])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def _patch(api: APIClient, campaign: Campaign, body: dict[str, Any]) -> Any:
    return api.patch(f"/api/campaigns/{campaign.pk}/", body, format="json")


def test_private_annotators_through_the_campaign_api(
    people: dict[str, Any], client_as: Any, campaign: Campaign
) -> None:
    annotator, other = people["annotator"], member(campaign)
    admin_api = client_as(people["admin"])
    r = _patch(admin_api, campaign, {"private_annotators": [annotator.pk]})
    assert r.status_code == 200, r.content
    assert (r.json()["private_restricted"], r.json()["private_annotators"]) == (
        True,
        [annotator.pk],
    )
    flags = dict(
        Membership.objects.filter(campaign=campaign).values_list("user_id", "private_access")
    )
    assert flags[annotator.pk] is True and flags[other.pk] is False
    detail = client_as(people["admin"]).get(f"/api/campaigns/{campaign.pk}/").json()
    assert detail["private_annotators"] == [annotator.pk]
    seen_by_annotator = client_as(annotator).get(f"/api/campaigns/{campaign.pk}/").json()
    assert (seen_by_annotator["private_restricted"], seen_by_annotator["private_annotators"]) == (
        True,
        [],
    )
    r = _patch(client_as(people["admin"]), campaign, {"private_annotators": None})
    assert r.status_code == 200, r.content
    assert (r.json()["private_restricted"], r.json()["private_annotators"]) == (False, [])
    assert not Membership.objects.filter(campaign=campaign, private_access=True).exists()


@pytest.mark.parametrize(
    ("who", "field"),
    [
        ("viewer", "private_annotators[1]"),
        ("outsider", "private_annotators[1]"),
        ("twice", "private_annotators"),
        ("zero", "private_annotators.0"),  # DRF's own check of the list
    ],
)
def test_private_annotators_bad_input(
    people: dict[str, Any], client_as: Any, campaign: Campaign, who: str, field: str
) -> None:
    ids = {
        "viewer": [people["annotator"].pk, people["viewer"].pk],
        "outsider": [people["annotator"].pk, people["outsider"].pk],
        "twice": [people["annotator"].pk, people["annotator"].pk],
        "zero": [0],
    }[who]
    r = _patch(client_as(people["admin"]), campaign, {"private_annotators": ids})
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"]
    campaign.refresh_from_db()
    assert not campaign.private_restricted


def test_restricting_hands_back_private_leases_of_others(client_as: Any) -> None:
    campaign = _campaign(0, 1, overlap=2)
    admin = member(campaign, Membership.Role.ADMIN)
    kept, dropped = member(campaign), member(campaign)
    for user in (kept, dropped):
        assert assignment_next(campaign=campaign, user=user) is not None
    r = _patch(client_as(admin), campaign, {"private_annotators": [kept.pk]})
    assert r.status_code == 200, r.content
    statuses = dict(Assignment.objects.values_list("annotator_id", "status"))
    assert statuses == {kept.pk: "active", dropped.pk: "expired"}
    assert Item.objects.get(campaign=campaign).open_slots == 1
    campaign.refresh_from_db()
    assert assignment_next(campaign=campaign, user=dropped) is None


def test_a_campaign_can_be_created_with_private_items_for_admins_only(
    people: dict[str, Any], client_as: Any
) -> None:
    body = {"name": "Held out", "private_annotators": [], "skip_limit_per_hour": 5}
    r = client_as(people["staff"]).post("/api/campaigns/", body, format="json")
    assert r.status_code == 201, r.content
    created = Campaign.objects.get(pk=r.json()["id"])
    assert (created.private_restricted, created.skip_limit_per_hour) == (True, 5)


# --- (c) the skip cap -------------------------------------------------------------------------


def test_skips_over_the_hourly_cap_are_refused() -> None:
    campaign = _campaign(5, 0, skip_limit_per_hour=2)
    user = member(campaign)
    now = timezone.now()
    for _ in range(2):
        lease = assignment_next(campaign=campaign, user=user, now=now)
        assert lease is not None
        assignment_skip(assignment_id=lease.pk, user=user, now=now)
    lease = assignment_next(campaign=campaign, user=user, now=now)
    assert lease is not None
    with pytest.raises(DomainError) as caught:
        assignment_skip(assignment_id=lease.pk, user=user, now=now)
    assert (caught.value.status_code, caught.value.code) == (429, "skip_limit")
    assert 3590 <= caught.value.extra["retry_after_s"] <= 3601
    assert Assignment.objects.get(pk=lease.pk).status == "active"  # still theirs to label
    # An hour later the old skips no longer count.
    later = now + timedelta(hours=1, seconds=1)
    assert assignment_skip(assignment_id=lease.pk, user=user, now=later).status == "skipped"


def test_the_skip_cap_answers_429_through_the_api(client_as: Any) -> None:
    campaign = _campaign(3, 0, skip_limit_per_hour=1)
    user = member(campaign)
    api = client_as(user)
    first = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]["id"]
    assert api.post(f"/api/assignments/{first}/skip/").status_code == 200
    second = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]["id"]
    r = api.post(f"/api/assignments/{second}/skip/")
    assert r.status_code == 429, r.content
    assert r.json()["code"] == "skip_limit" and "limit of 1" in r.json()["detail"]
    # Skipping the same item again is still the idempotent 200.
    assert api.post(f"/api/assignments/{first}/skip/").status_code == 200


@pytest.mark.parametrize("value", [0, 10_001, "many"])
def test_skip_limit_bad_input(
    people: dict[str, Any], client_as: Any, campaign: Campaign, value: Any
) -> None:
    r = _patch(client_as(people["admin"]), campaign, {"skip_limit_per_hour": value})
    assert r.status_code == 400, r.content
    assert "skip_limit_per_hour" in r.json()["errors"]


def test_skip_limit_can_be_changed(
    people: dict[str, Any], client_as: Any, campaign: Campaign
) -> None:
    assert campaign.skip_limit_per_hour == 60
    r = _patch(client_as(people["admin"]), campaign, {"skip_limit_per_hour": 200})
    assert r.status_code == 200 and r.json()["skip_limit_per_hour"] == 200
