"""Care for annotators: the content warning gate, blur, daily limits, breaks, opt-outs, and the
admin's exposure view; bad settings get a 400 naming the field, other campaigns a 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.care.selectors import care_status
from labeling.models import Assignment, Campaign, DailyExposure, Item, Membership
from labeling.queue.services import annotation_submit, assignment_leases, assignment_skip
from tests.factories import valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    campaign_with_items,
    make_item,
    make_prompt,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _next(client: Any, campaign: Campaign, ahead: int = 0) -> dict[str, Any]:
    r = client.post(f"/api/campaigns/{campaign.pk}/next/?ahead={ahead}")
    assert r.status_code == 200, r.content
    body: dict[str, Any] = r.json()
    return body


def _names(response: Any, field: str) -> bool:
    """Whether a 400's errors name `field` (or a path under it, e.g. "hazard_categories.0")."""
    errors = response.json().get("errors", {})
    return any(key == field or key.startswith((f"{field}.", f"{field}[")) for key in errors)


def _submit(client: Any, assignment_id: int, ms: int = 60_000) -> None:
    r = client.post(
        f"/api/assignments/{assignment_id}/submit/",
        {"values": valid_values(), "time_spent_ms": ms},
        format="json",
    )
    assert r.status_code == 201, r.content


# --- settings ----------------------------------------------------------------------------------


def test_admin_sets_care_settings_and_reads_them_back(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    admin = member(campaign, Membership.Role.ADMIN)
    body = {
        "content_warning": "This campaign contains **hate speech**.",
        "blur_outputs": "likely_harmful",
        "blur_threshold": 0.7,
        "daily_item_limit": 100,
        "daily_minute_limit": 120,
        "break_every_minutes": 30,
        "hazard_categories": ["self-harm", "sexual content"],
    }
    r = client_as(admin).patch(f"/api/campaigns/{campaign.pk}/", body, format="json")
    assert r.status_code == 200, r.content
    got = client_as(admin).get(f"/api/campaigns/{campaign.pk}/").json()
    for key, value in body.items():
        assert got[key] == value


def test_created_with_care_settings(client_as: Any, django_user_model: Any) -> None:
    staff = django_user_model.objects.create_user("staffer", password="pw", is_staff=True)
    r = client_as(staff).post(
        "/api/campaigns/",
        {"name": "Careful", "blur_outputs": "all", "daily_item_limit": 5},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["blur_outputs"] == "all"
    assert Campaign.objects.get(pk=r.json()["id"]).daily_item_limit == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("blur_outputs", "sometimes"),
        ("blur_threshold", 1.5),
        ("blur_threshold", "high"),
        ("daily_item_limit", -1),
        ("daily_minute_limit", 24 * 60 + 1),
        ("break_every_minutes", "often"),
        ("hazard_categories", "hate"),
        ("hazard_categories", ["hate", "hate"]),
        ("hazard_categories", [""]),
        ("hazard_categories", ["x" * 201]),
        ("content_warning", None),
        ("content_warning", "x" * 20_001),
    ],
)
def test_bad_care_settings_are_refused_naming_the_field(
    client_as: Any, field: str, value: Any
) -> None:
    campaign = campaign_with_items(1)
    admin = member(campaign, Membership.Role.ADMIN)
    before = Campaign.objects.filter(pk=campaign.pk).values().get()
    r = client_as(admin).patch(f"/api/campaigns/{campaign.pk}/", {field: value}, format="json")
    assert r.status_code == 400, r.content
    assert _names(r, field), r.content
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before


def test_annotators_cannot_change_care_settings(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    annotator = member(campaign)
    r = client_as(annotator).patch(
        f"/api/campaigns/{campaign.pk}/", {"daily_item_limit": 0}, format="json"
    )
    assert r.status_code == 403


# --- content warning ---------------------------------------------------------------------------


def test_next_leases_nothing_until_the_warning_is_acknowledged(client_as: Any) -> None:
    campaign = campaign_with_items(3, content_warning="Contains *violent* text.")
    a = member(campaign)
    body = _next(client_as(a), campaign, ahead=1)
    assert body["assignment"] is None and body["upcoming"] is None
    assert body["care"]["state"] == "warning"
    assert not Assignment.objects.filter(annotator=a).exists()

    mine = client_as(a).get(f"/api/campaigns/{campaign.pk}/care/").json()
    assert mine["content_warning"] == "Contains *violent* text."
    assert mine["warning_acknowledged_at"] is None

    r = client_as(a).post(f"/api/campaigns/{campaign.pk}/care/acknowledge/")
    assert r.status_code == 200, r.content
    assert r.json()["warning_acknowledged_at"] is not None
    body = _next(client_as(a), campaign, ahead=1)
    assert body["assignment"] is not None and body["care"]["state"] == "ok"
    # Once per annotator: a second annotator still sees it.
    b = member(campaign)
    assert _next(client_as(b), campaign)["care"]["state"] == "warning"


def test_acknowledging_twice_keeps_the_first_time(client_as: Any) -> None:
    campaign = campaign_with_items(1, content_warning="Careful.")
    a = member(campaign)
    first = client_as(a).post(f"/api/campaigns/{campaign.pk}/care/acknowledge/").json()
    second = client_as(a).post(f"/api/campaigns/{campaign.pk}/care/acknowledge/").json()
    assert first["warning_acknowledged_at"] == second["warning_acknowledged_at"]


def test_care_endpoints_answer_404_for_other_campaigns(client_as: Any) -> None:
    mine = campaign_with_items(1, content_warning="Mine.")
    other = campaign_with_items(1, content_warning="Theirs.", hazard_categories=["hate"])
    a = member(mine)
    admin = member(mine, Membership.Role.ADMIN)
    for client in (client_as(a), client_as(admin)):
        assert client.get(f"/api/campaigns/{other.pk}/care/").status_code == 404
        patch = {"hazard_opt_outs": ["hate"]}
        url = f"/api/campaigns/{other.pk}/care/"
        assert client.patch(url, patch, format="json").status_code == 404
        assert client.post(f"/api/campaigns/{other.pk}/care/acknowledge/").status_code == 404
        assert client.post(f"/api/campaigns/{other.pk}/care/break/").status_code == 404
        assert client.get(f"/api/campaigns/{other.pk}/care/exposure/").status_code == 404
        assert client.get("/api/campaigns/999999999/care/").status_code == 404
    assert not other.annotator_care.exists()


# --- blur --------------------------------------------------------------------------------------


def test_sensitive_follows_the_classifier_probability_and_threshold(client_as: Any) -> None:
    campaign = campaign_with_items(0, blur_outputs="likely_harmful", blur_threshold=0.6, overlap=1)
    harmful = make_item(campaign=campaign, prompt__campaign=campaign, harm_probability=0.9)
    benign = make_item(campaign=campaign, prompt__campaign=campaign, harm_probability=0.1)
    unscored = make_item(campaign=campaign, prompt__campaign=campaign, harm_probability=None)
    a = member(campaign)
    seen: dict[int, bool] = {}
    client = client_as(a)
    for _ in range(3):
        lease = _next(client, campaign)["assignment"]
        seen[lease["item"]["id"]] = lease["item"]["sensitive"]
        _submit(client, lease["id"])
    assert seen == {harmful.pk: True, benign.pk: False, unscored.pk: True}


@pytest.mark.parametrize(("mode", "expected"), [("off", False), ("all", True)])
def test_blur_off_and_all(client_as: Any, mode: str, expected: bool) -> None:
    campaign = campaign_with_items(0, blur_outputs=mode)
    make_item(campaign=campaign, prompt__campaign=campaign, harm_probability=0.01)
    a = member(campaign)
    body = _next(client_as(a), campaign, ahead=1)
    assert body["assignment"]["item"]["sensitive"] is expected


def test_blur_preference_is_per_user_and_validated(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    a, b = member(campaign), member(campaign)
    assert client_as(a).get("/api/care/preferences/").json() == {"blur_outputs": True}
    r = client_as(a).put("/api/care/preferences/", {"blur_outputs": False}, format="json")
    assert r.status_code == 200 and r.json() == {"blur_outputs": False}
    assert client_as(a).get("/api/care/preferences/").json() == {"blur_outputs": False}
    assert client_as(b).get("/api/care/preferences/").json() == {"blur_outputs": True}
    for bad in ({}, {"blur_outputs": "maybe"}, {"blur_outputs": None}):
        r = client_as(a).put("/api/care/preferences/", bad, format="json")
        assert r.status_code == 400, r.content
        assert "blur_outputs" in str(r.json())


# --- daily limits and breaks -------------------------------------------------------------------


def test_item_limit_counts_leases_ahead_and_then_says_limit_reached(client_as: Any) -> None:
    campaign = campaign_with_items(10, daily_item_limit=2)
    a = member(campaign)
    client = client_as(a)
    body = _next(client, campaign, ahead=1)
    assert body["assignment"] and body["upcoming"]
    _submit(client, body["assignment"]["id"])
    # One item seen, one held: the limit of two leaves nothing to lease ahead.
    body = _next(client, campaign, ahead=1)
    assert body["assignment"] is not None and body["upcoming"] is None
    assert body["care"]["items_left_today"] == 1
    _submit(client, body["assignment"]["id"])
    body = _next(client, campaign, ahead=1)
    assert body["assignment"] is None
    assert body["care"]["state"] == "limit_reached" and body["care"]["limit"] == "items"
    assert body["care"]["items_today"] == 2
    assert not Assignment.objects.filter(annotator=a, status="active").exists()


def test_minute_limit_hands_back_held_leases(client_as: Any) -> None:
    campaign = campaign_with_items(5, daily_minute_limit=2, lease_minutes=30)
    a = member(campaign)
    client = client_as(a)
    body = _next(client, campaign, ahead=1)
    held = body["upcoming"]["item"]["id"]
    _submit(client, body["assignment"]["id"], ms=150_000)
    body = _next(client, campaign, ahead=1)
    assert body["assignment"] is None
    assert body["care"]["state"] == "limit_reached" and body["care"]["limit"] == "minutes"
    assert body["care"]["minutes_today"] == 2.5
    assert Item.objects.get(pk=held).open_slots == 3  # its slot is back in the pool


def test_time_spent_counts_at_most_one_lease_term(client_as: Any) -> None:
    campaign = campaign_with_items(2, lease_minutes=5)
    a = member(campaign)
    client = client_as(a)
    _submit(client, _next(client, campaign)["assignment"]["id"], ms=86_000_000)
    row = DailyExposure.objects.get(campaign=campaign, annotator=a)
    assert (row.items, row.time_ms) == (1, 5 * 60_000)


def test_skips_count_as_items_seen() -> None:
    campaign = campaign_with_items(3, daily_item_limit=1)
    a = member(campaign)
    leases = assignment_leases(campaign=campaign, user=a, ahead=1)
    assert len(leases) == 1
    assignment_skip(assignment_id=leases[0].pk, user=a)
    assert assignment_leases(campaign=campaign, user=a) == []


def test_limits_are_per_day() -> None:
    campaign = campaign_with_items(3, daily_item_limit=1)
    a = member(campaign)
    yesterday = timezone.now() - timedelta(days=1)
    lease = assignment_leases(campaign=campaign, user=a, now=yesterday)[0]
    annotation_submit(assignment_id=lease.pk, user=a, values=valid_values(), now=yesterday)
    assert assignment_leases(campaign=campaign, user=a, now=yesterday) == []
    assert len(assignment_leases(campaign=campaign, user=a)) == 1


def test_break_reminder_after_n_minutes_until_taken(client_as: Any) -> None:
    campaign = campaign_with_items(6, break_every_minutes=1)
    a = member(campaign)
    client = client_as(a)
    body = _next(client, campaign)
    assert body["care"]["state"] == "ok"
    _submit(client, body["assignment"]["id"], ms=70_000)
    body = _next(client, campaign)
    # A reminder, not a block: the item is leased, the workspace shows the reminder first.
    assert body["care"]["state"] == "break_due" and body["assignment"] is not None
    r = client.post(f"/api/campaigns/{campaign.pk}/care/break/")
    assert r.status_code == 200 and r.json()["status"]["minutes_since_break"] == 0
    assert _next(client, campaign)["care"]["state"] == "ok"
    _submit(client, body["assignment"]["id"], ms=30_000)
    assert _next(client, campaign)["care"]["state"] == "ok"
    _submit(client, _next(client, campaign)["assignment"]["id"], ms=30_000)
    assert _next(client, campaign)["care"]["state"] == "break_due"


def test_campaigns_without_care_read_nothing_more_on_next() -> None:
    campaign = campaign_with_items(3)
    a = member(campaign)
    assert care_status(campaign=campaign, user=a, now=timezone.now()) is None
    assignment_leases(campaign=campaign, user=a)
    with CaptureQueriesContext(connection) as plain:
        assignment_leases(campaign=campaign, user=a)
    assert not any("annotatorcare" in q["sql"] for q in plain.captured_queries)


# --- hazard opt-outs ---------------------------------------------------------------------------


def _categorised(campaign: Campaign, categories: list[str]) -> dict[int, str]:
    out = {}
    for category in categories:
        prompt = make_prompt(campaign=campaign, category=category)
        out[make_item(campaign=campaign, prompt=prompt).pk] = category
    return out


def test_opted_out_categories_are_never_served(client_as: Any) -> None:
    campaign = campaign_with_items(0, hazard_categories=["self-harm", "hate"])
    items = _categorised(campaign, ["self-harm", "hate", "", "weapons", "self-harm"])
    a = member(campaign)
    client = client_as(a)
    r = client.patch(
        f"/api/campaigns/{campaign.pk}/care/", {"hazard_opt_outs": ["self-harm"]}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["hazard_opt_outs"] == ["self-harm"]
    served = []
    while True:
        body = _next(client, campaign)
        if body["assignment"] is None:
            break
        served.append(items[body["assignment"]["item"]["id"]])
        _submit(client, body["assignment"]["id"])
    assert sorted(served) == ["", "hate", "weapons"]
    assert body["progress"]["available"] == 0


def test_opting_out_hands_back_held_leases_of_that_category(client_as: Any) -> None:
    campaign = campaign_with_items(0, hazard_categories=["hate"], overlap=1)
    items = _categorised(campaign, ["hate", "hate"])
    a = member(campaign)
    client = client_as(a)
    body = _next(client, campaign, ahead=1)
    assert {items[body["assignment"]["item"]["id"]], items[body["upcoming"]["item"]["id"]]} == {
        "hate"
    }
    client.patch(
        f"/api/campaigns/{campaign.pk}/care/", {"hazard_opt_outs": ["hate"]}, format="json"
    )
    assert _next(client, campaign)["assignment"] is None
    assert set(Item.objects.filter(campaign=campaign).values_list("open_slots", flat=True)) == {1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"hazard_opt_outs": ["weapons"]}, "hazard_opt_outs[0]"),
        ({"hazard_opt_outs": ["hate", "hate"]}, "hazard_opt_outs"),
        ({"hazard_opt_outs": "hate"}, "hazard_opt_outs"),
        ({}, "hazard_opt_outs"),
    ],
)
def test_bad_opt_outs_are_refused_naming_the_field(
    client_as: Any, body: dict[str, Any], field: str
) -> None:
    campaign = campaign_with_items(1, hazard_categories=["hate"])
    a = member(campaign)
    r = client_as(a).patch(f"/api/campaigns/{campaign.pk}/care/", body, format="json")
    assert r.status_code == 400, r.content
    assert _names(r, field), r.content


def test_opting_out_where_the_campaign_allows_none(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    a = member(campaign)
    r = client_as(a).patch(
        f"/api/campaigns/{campaign.pk}/care/", {"hazard_opt_outs": ["hate"]}, format="json"
    )
    assert r.status_code == 400
    assert "hazard_opt_outs" in r.json()["errors"]


def test_categories_the_campaign_drops_no_longer_filter(client_as: Any) -> None:
    campaign = campaign_with_items(0, hazard_categories=["hate"])
    _categorised(campaign, ["hate"])
    a = member(campaign)
    client = client_as(a)
    client.patch(
        f"/api/campaigns/{campaign.pk}/care/", {"hazard_opt_outs": ["hate"]}, format="json"
    )
    assert _next(client, campaign)["assignment"] is None
    Campaign.objects.filter(pk=campaign.pk).update(hazard_categories=[])
    assert _next(client, campaign)["assignment"] is not None


# --- the admin's view --------------------------------------------------------------------------


def test_admins_see_each_annotators_exposure(client_as: Any) -> None:
    campaign = campaign_with_items(6, daily_item_limit=2)
    admin = member(campaign, Membership.Role.ADMIN)
    a, b = member(campaign), member(campaign)
    yesterday = timezone.now() - timedelta(days=1)
    lease = assignment_leases(campaign=campaign, user=a, now=yesterday)[0]
    annotation_submit(
        assignment_id=lease.pk, user=a, values=valid_values(), time_spent_ms=90_000, now=yesterday
    )
    client = client_as(a)
    for _ in range(2):
        _submit(client, _next(client, campaign)["assignment"]["id"], ms=30_000)
    r = client_as(admin).get(f"/api/campaigns/{campaign.pk}/care/exposure/?days=7")
    assert r.status_code == 200, r.content
    report = r.json()
    assert report["daily_item_limit"] == 2
    rows = {row["username"]: row for row in report["annotators"]}
    assert set(rows) == {admin.username, a.username, b.username}
    assert rows[a.username]["items_today"] == 2
    assert rows[a.username]["minutes_today"] == 1.0
    assert rows[a.username]["limit_reached_today"] is True
    assert rows[a.username]["items_recent"] == 3
    assert rows[a.username]["minutes_recent"] == 2.5
    assert len(rows[a.username]["days"]) == 2
    assert rows[b.username]["items_today"] == 0 and rows[b.username]["days"] == []
    # Annotators do not see others' exposure.
    assert client_as(a).get(f"/api/campaigns/{campaign.pk}/care/exposure/").status_code == 403


@pytest.mark.parametrize("days", ["0", "91", "x", "-1", "7.5"])
def test_exposure_days_must_be_in_range(client_as: Any, days: str) -> None:
    campaign = campaign_with_items(1)
    admin = member(campaign, Membership.Role.ADMIN)
    r = client_as(admin).get(f"/api/campaigns/{campaign.pk}/care/exposure/?days={days}")
    assert r.status_code == 400
    assert "days" in r.json()["errors"]


def test_exposure_query_count_does_not_grow_with_annotators(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    admin = member(campaign, Membership.Role.ADMIN)
    client = client_as(admin)
    url = f"/api/campaigns/{campaign.pk}/care/exposure/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        member(campaign)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize(
    ("order", "index"),
    [("random", "item_next_open"), ("priority", "item_next_priority"), ("gold", "item_gold")],
)
def test_the_opt_out_filter_keeps_each_picks_index(order: str, index: str) -> None:
    """Opting out adds a condition on the prompt row the pick joins anyway: the item index
    still gives the order (no sort), on SQLite and (tests/integration) PostgreSQL."""
    from labeling.queue import sql

    campaign = campaign_with_items(30)
    Item.objects.filter(pk__in=Item.objects.filter(campaign=campaign).values("pk")[:5]).update(
        is_gold=True, open_slots=0
    )
    user = member(campaign)
    without = ("self-harm", "hate")
    where, order_by = sql._where(order, False, without)
    pick = sql._PICK.format(where=where, order=order_by)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + pick, [campaign.pk, *without, user.pk])
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + pick, [campaign.pk, *without, user.pk])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
