from __future__ import annotations

from typing import Any

from labeling.models import Annotation, Assignment, Item
from tests.factories import valid_values


def test_next_submit_flow(
    campaign: Any, people: dict[str, Any], items: list[Item], client_as: Any
) -> None:
    api = client_as(people["annotator"])
    r = api.post(f"/api/campaigns/{campaign.pk}/next/")
    assert r.status_code == 200, r.content
    lease = r.json()["assignment"]
    assert lease["item"]["text"]
    again = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]
    assert again["id"] == lease["id"]  # a reload gets the same lease back
    r = api.post(
        f"/api/assignments/{lease['id']}/submit/", {"values": valid_values()}, format="json"
    )
    assert r.status_code == 201, r.content
    assert Annotation.objects.count() == 1
    assert Assignment.objects.get(pk=lease["id"]).status == "submitted"
    item = Item.objects.get(pk=lease["item"]["id"])
    assert (item.n_submitted, item.open_slots) == (1, campaign.overlap - 1)
    nxt = api.post(f"/api/campaigns/{campaign.pk}/next/").json()
    assert nxt["assignment"]["item"]["id"] != lease["item"]["id"]
    assert nxt["progress"] == {
        "done": 1,
        "available": 4,
        "available_capped": False,
        "generating": None,
    }


def test_submit_rejects_bad_values(
    campaign: Any, people: dict[str, Any], items: list[Item], client_as: Any
) -> None:
    api = client_as(people["annotator"])
    lease = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]
    bad = valid_values(fluency=9, colour="red")
    del bad["harm"]
    r = api.post(f"/api/assignments/{lease['id']}/submit/", {"values": bad}, format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert "off the scale" in errors["values.fluency"][0]
    assert errors["values.colour"] == ["unknown dimension"]
    assert errors["values.harm"] == ["required"]
    assert Annotation.objects.count() == 0


def test_submit_refused_once_campaign_closed_or_role_removed(
    campaign: Any, people: dict[str, Any], items: list[Item], client_as: Any
) -> None:
    api = client_as(people["annotator"])
    lease = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]
    campaign.status = "closed"
    campaign.save()
    r = api.post(
        f"/api/assignments/{lease['id']}/submit/", {"values": valid_values()}, format="json"
    )
    assert (r.status_code, r.json()["code"]) == (409, "campaign_not_open")
    campaign.status = "labeling"
    campaign.save()
    campaign.memberships.filter(user=people["annotator"]).update(role="viewer")
    r = api.post(
        f"/api/assignments/{lease['id']}/submit/", {"values": valid_values()}, format="json"
    )
    assert r.status_code == 403
    assert Annotation.objects.count() == 0


def test_next_ahead_prefetches_the_following_item(
    campaign: Any, people: dict[str, Any], items: list[Item], client_as: Any
) -> None:
    api = client_as(people["annotator"])
    body = api.post(f"/api/campaigns/{campaign.pk}/next/?ahead=1").json()
    first, upcoming = body["assignment"], body["upcoming"]
    assert upcoming is not None and upcoming["item"]["id"] != first["item"]["id"]
    # A reload gives the same pair; a plain next gives the current one only.
    again = api.post(f"/api/campaigns/{campaign.pk}/next/?ahead=1").json()
    assert (again["assignment"]["id"], again["upcoming"]["id"]) == (first["id"], upcoming["id"])
    assert api.post(f"/api/campaigns/{campaign.pk}/next/").json()["upcoming"] is None
    api.post(f"/api/assignments/{first['id']}/submit/", {"values": valid_values()}, format="json")
    after = api.post(f"/api/campaigns/{campaign.pk}/next/?ahead=1").json()
    assert after["assignment"]["id"] == upcoming["id"]
    assert after["upcoming"]["item"]["id"] not in {first["item"]["id"], upcoming["item"]["id"]}
    assert Assignment.objects.filter(annotator=people["annotator"], status="active").count() == 2
    bad = api.post(f"/api/campaigns/{campaign.pk}/next/?ahead=5")
    assert bad.status_code == 400 and "ahead" in bad.json()["errors"]


def test_admin_removes_a_member_and_their_lease_returns(
    campaign: Any, people: dict[str, Any], items: list[Item], client_as: Any
) -> None:
    annotator = people["annotator"]
    lease = client_as(annotator).post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]
    url = f"/api/campaigns/{campaign.pk}/members/{annotator.pk}/"
    assert client_as(people["viewer"]).delete(url).status_code == 403
    assert client_as(people["outsider"]).delete(url).status_code == 404
    admin = client_as(people["admin"])
    assert admin.delete(url).status_code == 204
    assert admin.delete(url).status_code == 404
    assert (
        admin.delete(f"/api/campaigns/{campaign.pk}/members/{people['admin'].pk}/").status_code
        == 400
    )
    assert Item.objects.get(pk=lease["item"]["id"]).open_slots == campaign.overlap
    assert client_as(annotator).post(f"/api/campaigns/{campaign.pk}/next/").status_code == 404


def test_a_lease_taken_ahead_gets_a_full_term_when_it_becomes_current(
    campaign: Any, people: dict[str, Any], items: list[Item]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from labeling.queue.services import annotation_submit, assignment_leases

    user = people["annotator"]
    t0 = timezone.now()
    first, ahead = assignment_leases(campaign=campaign, user=user, now=t0, ahead=1)
    later = t0 + timedelta(minutes=campaign.lease_minutes - 5)
    annotation_submit(assignment_id=first.pk, user=user, values=valid_values(), now=later)
    current = assignment_leases(campaign=campaign, user=user, now=later, ahead=1)[0]
    assert current.pk == ahead.pk
    assert current.expires_at == later + timedelta(minutes=campaign.lease_minutes)
    assert Assignment.objects.get(pk=ahead.pk).expires_at == current.expires_at
