"""The annotator's way back: history of their own items, editing a submission (kept as a
revision, consensus re-votes), undoing a skip, a skip reason; and generation progress while
outputs are still being generated."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generation.models import GenerationJob
from labeling.models import Annotation, AnnotationRevision, Assignment, Campaign, Consensus, Item
from labeling.queue.services import annotation_submit, assignment_next
from labeling.rubric import default_rubric
from tests.factories import CandidateModelFactory, valid_values

pytestmark = pytest.mark.django_db


def _lease(campaign: Campaign, user: Any) -> Assignment:
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None
    return lease


def test_history_lists_only_my_items_newest_first(
    client_as: Any, campaign: Campaign, people: dict[str, Any], items: list[Item]
) -> None:
    me, admin = people["annotator"], people["admin"]
    first = _lease(campaign, me)
    annotation_submit(assignment_id=first.pk, user=me, values=valid_values())
    second = _lease(campaign, me)
    client_as(me).post(f"/api/assignments/{second.pk}/skip/", {"reason": "not English"}, "json")
    theirs = _lease(campaign, admin)
    annotation_submit(
        assignment_id=theirs.pk, user=admin, values=valid_values(harm="unsafe", hazard="hate")
    )

    with CaptureQueriesContext(connection) as queries:
        r = client_as(me).get(f"/api/campaigns/{campaign.pk}/my-history/")
    assert r.status_code == 200, r.content
    rows = r.json()["results"]
    assert [row["id"] for row in rows] == [second.pk, first.pk]
    assert rows[0]["status"] == "skipped" and rows[0]["skip_reason"] == "not English"
    assert rows[0]["values"] is None
    assert rows[1]["values"] == valid_values() and rows[1]["item"]["text"]
    assert rows[1]["item"]["sensitive"] is False  # the campaign blurs nothing
    assert len(queries) <= 8  # auth, campaign, membership, assignments, annotations

    assert client_as(me).get(f"/api/campaigns/{campaign.pk}/my-history/?limit=0").status_code == 400
    assert (
        client_as(people["outsider"]).get(f"/api/campaigns/{campaign.pk}/my-history/").status_code
        == 404
    )


def test_editing_a_submission_keeps_the_old_values_and_re_votes(
    client_as: Any, campaign: Campaign, people: dict[str, Any], items: list[Item]
) -> None:
    me = people["annotator"]
    lease = _lease(campaign, me)
    annotation_submit(assignment_id=lease.pk, user=me, values=valid_values())
    before = Consensus.objects.get(item_id=lease.item_id, dimension="harm")
    assert before.value == "safe"

    edited = valid_values(harm="unsafe", hazard="weapons")
    r = client_as(me).post(f"/api/assignments/{lease.pk}/edit/", {"values": edited}, "json")
    assert r.status_code == 200, r.content
    annotation = Annotation.objects.get(assignment=lease)
    assert annotation.values == edited
    revision = AnnotationRevision.objects.get(annotation=annotation)
    assert revision.number == 1 and revision.values == valid_values()
    assert Consensus.objects.get(item_id=lease.item_id, dimension="harm").value == "unsafe"

    # Bad values: a 400 naming the field, and nothing changed.
    r = client_as(me).post(
        f"/api/assignments/{lease.pk}/edit/", {"values": valid_values(fluency=9)}, "json"
    )
    assert r.status_code == 400 and "values.fluency" in r.json()["errors"]
    assert Annotation.objects.get(assignment=lease).values == edited
    assert AnnotationRevision.objects.count() == 1

    # Someone else's assignment is a 404; an unsubmitted one a 409.
    r = client_as(people["admin"]).post(
        f"/api/assignments/{lease.pk}/edit/", {"values": edited}, "json"
    )
    assert r.status_code == 404
    other = _lease(campaign, me)
    r = client_as(me).post(f"/api/assignments/{other.pk}/edit/", {"values": edited}, "json")
    assert r.status_code == 409 and r.json()["code"] == "not_submitted"

    # A closed campaign takes no more edits.
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    r = client_as(me).post(f"/api/assignments/{lease.pk}/edit/", {"values": valid_values()}, "json")
    assert r.status_code == 409 and r.json()["code"] == "campaign_not_open"
    assert Annotation.objects.get(assignment=lease).values == edited


def test_undo_skip_leases_the_item_again(
    client_as: Any, campaign: Campaign, people: dict[str, Any], items: list[Item]
) -> None:
    me = people["annotator"]
    lease = _lease(campaign, me)
    slots = Item.objects.get(pk=lease.item_id).open_slots
    assert client_as(me).post(f"/api/assignments/{lease.pk}/skip/").status_code == 200
    assert Item.objects.get(pk=lease.item_id).open_slots == slots + 1

    assert (
        client_as(people["admin"]).post(f"/api/assignments/{lease.pk}/unskip/").status_code == 404
    )
    r = client_as(me).post(f"/api/assignments/{lease.pk}/unskip/")
    assert r.status_code == 200, r.content
    assert r.json()["id"] == lease.pk and r.json()["status"] == "active"
    assert Item.objects.get(pk=lease.item_id).open_slots == slots
    # And it can be submitted as usual.
    annotation_submit(assignment_id=lease.pk, user=me, values=valid_values())
    r = client_as(me).post(f"/api/assignments/{lease.pk}/unskip/")
    assert r.status_code == 409 and r.json()["code"] == "not_skipped"


def test_undo_skip_after_others_took_the_item_is_a_conflict(
    client_as: Any, campaign: Campaign, people: dict[str, Any], items: list[Item]
) -> None:
    me = people["annotator"]
    lease = _lease(campaign, me)
    client_as(me).post(f"/api/assignments/{lease.pk}/skip/")
    Item.objects.filter(pk=lease.item_id).update(open_slots=0)
    r = client_as(me).post(f"/api/assignments/{lease.pk}/unskip/")
    assert r.status_code == 409 and r.json()["code"] == "lease_lost"
    assert Assignment.objects.get(pk=lease.pk).status == "skipped"


def test_skip_reason_is_checked(
    client_as: Any, campaign: Campaign, people: dict[str, Any], items: list[Item]
) -> None:
    me = people["annotator"]
    lease = _lease(campaign, me)
    r = client_as(me).post(f"/api/assignments/{lease.pk}/skip/", {"reason": "x" * 501}, "json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    assert Assignment.objects.get(pk=lease.pk).status == "active"


def test_progress_says_outputs_are_being_generated(
    client_as: Any, campaign: Campaign, people: dict[str, Any]
) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.GENERATING)
    job = GenerationJob.objects.create(
        campaign=campaign,
        model=CandidateModelFactory.create(),
        params={},
        params_hash="h",
        status="running",
        done=3,
        total=10,
    )
    r = client_as(people["annotator"]).post(f"/api/campaigns/{campaign.pk}/next/?ahead=1")
    assert r.status_code == 200, r.content
    assert r.json()["assignment"] is None
    assert r.json()["progress"]["generating"] == {"done": 3, "total": 10, "jobs": 1}
    r = client_as(people["annotator"]).get(f"/api/campaigns/{campaign.pk}/my-progress/")
    assert r.json()["generating"] == {"done": 3, "total": 10, "jobs": 1}
    GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", done=10)
    r = client_as(people["annotator"]).get(f"/api/campaigns/{campaign.pk}/my-progress/")
    assert r.json()["generating"] is None


def test_a_rubric_with_a_duplicate_hotkey_is_refused_naming_the_field(
    client_as: Any, campaign: Campaign, people: dict[str, Any]
) -> None:
    rubric: Any = default_rubric()
    rubric["dimensions"][2]["options"][1]["hotkey"] = "w"
    r = client_as(people["staff"]).post(
        "/api/campaigns/", {"name": "dup keys", "rubric": rubric}, format="json"
    )
    assert r.status_code == 400, r.content
    assert "rubric.dimensions[2].options[1].hotkey" in r.json()["errors"]
