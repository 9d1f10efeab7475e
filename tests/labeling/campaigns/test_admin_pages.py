"""Server sides of the admin pages: rubric labels, unknown members, and the analytics status."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.campaigns.analytics_status import broker_queue_length
from labeling.models import Campaign, Membership, QualityState, ScoreRefresh
from labeling.rubric import default_rubric
from tests.factories import CampaignFactory


def _rubric_with_unlabelled_required(index: int = 2, label: Any = "") -> dict[str, Any]:
    rubric: dict[str, Any] = dict(default_rubric())
    rubric["dimensions"][index]["label"] = label
    rubric["dimensions"][index]["required"] = True
    return rubric


def test_required_question_without_label_is_a_400_naming_the_field(
    people: dict[str, Any], client_as: Any
) -> None:
    api = client_as(people["staff"])
    before = Campaign.objects.count()
    for label in ("", "   "):
        body = {"name": "No label", "rubric": _rubric_with_unlabelled_required(2, label)}
        r = api.post("/api/campaigns/", body, format="json")
        assert r.status_code == 400, r.content
        reasons = r.json()["errors"]["rubric.dimensions[2].label"]
        assert "required question needs a label" in reasons[0]
    assert Campaign.objects.count() == before  # nothing half-written


def test_optional_question_may_go_without_label_but_not_with_a_non_string(
    people: dict[str, Any], client_as: Any
) -> None:
    api = client_as(people["staff"])
    rubric = _rubric_with_unlabelled_required(8)
    rubric["dimensions"][8]["required"] = False
    r = api.post("/api/campaigns/", {"name": "Optional", "rubric": rubric}, format="json")
    assert r.status_code == 201, r.content
    rubric["dimensions"][8]["label"] = 7
    r = api.post("/api/campaigns/", {"name": "Number", "rubric": rubric}, format="json")
    assert r.status_code == 400
    assert r.json()["errors"]["rubric.dimensions[8].label"] == ["must be a string"]


def test_rubric_update_with_unlabelled_required_question_keeps_the_old_rubric(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    api = client_as(people["admin"])
    old = campaign.rubric.schema
    r = api.patch(
        f"/api/campaigns/{campaign.pk}/",
        {"rubric": _rubric_with_unlabelled_required(0)},
        format="json",
    )
    assert r.status_code in (400, 409), r.content
    if r.status_code == 400:
        assert "rubric.dimensions[0].label" in r.json()["errors"]
    campaign.refresh_from_db()
    assert campaign.rubric.schema == old


def test_adding_an_unknown_member_names_the_username_on_the_field(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    api = client_as(people["admin"])
    r = api.post(
        f"/api/campaigns/{campaign.pk}/members/",
        {"username": "nobody", "role": "annotator"},
        format="json",
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {"username": ["no user named 'nobody'"]}
    assert "does not exist" not in r.content.decode()
    assert not Membership.objects.filter(campaign=campaign, user__username="nobody").exists()


def test_analytics_status_is_for_admins_and_viewers_only(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    url = f"/api/campaigns/{campaign.pk}/analytics-status/"
    assert client_as(people["outsider"]).get(url).status_code == 404
    assert client_as(people["annotator"]).get(url).status_code == 403
    assert client_as(None).get(url).status_code in (401, 403)
    for who in ("admin", "viewer"):
        r = client_as(people[who]).get(url)
        assert r.status_code == 200, r.content
    body = r.json()
    assert body["refit"]["waiting"] is False and body["refit"]["last_at"] is None
    assert body["scores"]["waiting"] is False
    assert body["queue"] == {"name": "default", "ahead": 0, "waiting_in_broker": None}


def test_analytics_status_says_what_is_queued_ahead_and_when(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    now = timezone.now()
    other, older, stale = CampaignFactory.create_batch(3)
    # Ours was requested a minute ago; one other campaign asked before us, one after us,
    # and one flag so old that its message is taken as lost (it does not count).
    QualityState.objects.create(
        campaign=campaign,
        refit_scheduled=True,
        refit_requested_at=now - timedelta(seconds=60),
        last_refit_at=now - timedelta(minutes=5),
        last_refit_s=1.5,
    )
    QualityState.objects.create(
        campaign=older, refit_scheduled=True, refit_requested_at=now - timedelta(seconds=90)
    )
    ScoreRefresh.objects.create(
        campaign=other, pending=True, requested_at=now - timedelta(seconds=10)
    )
    ScoreRefresh.objects.create(campaign=stale, pending=True, requested_at=now - timedelta(hours=2))
    api = client_as(people["viewer"])
    with CaptureQueriesContext(connection) as queries:
        body = api.get(f"/api/campaigns/{campaign.pk}/analytics-status/").json()
    assert len(queries) <= 12
    assert body["refit"]["waiting"] is True and body["refit"]["running"] is False
    assert body["refit"]["last_s"] == 1.5
    assert body["refit"]["requested_at"] is not None and body["refit"]["last_at"] is not None
    assert body["queue"]["ahead"] == 1  # only `older`
    assert isinstance(body["queue"]["waiting_in_broker"], int)


def test_broker_queue_length_counts_the_messages_no_worker_took() -> None:
    from labeling.scores.tasks import refresh_scores

    folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
    before_files = set(os.listdir(folder))
    before = broker_queue_length()
    assert before is not None
    refresh_scores.apply_async(args=(0,), countdown=0)
    try:
        assert broker_queue_length() == before + 1
        assert broker_queue_length("gpu") is not None
    finally:
        for name in set(os.listdir(folder)) - before_files:
            (folder / name).unlink()
    assert broker_queue_length() == before
