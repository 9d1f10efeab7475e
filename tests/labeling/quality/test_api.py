"""Quality-control endpoints: who may call them, bad input, query counts, and blind gold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.models import (
    Adjudication,
    Campaign,
    Consensus,
    Item,
    Membership,
    ScoreRefresh,
)
from labeling.quality.consensus import consensus_vote_item
from tests.factories import valid_values
from tests.labeling.factories_extra import FAST_HASHERS, make_item, member, submitted


@pytest.fixture(autouse=True)
def _setup(settings: Any, monkeypatch: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    # Scheduling a refit enqueues after commit; these tests run inside one transaction.
    monkeypatch.setattr("labeling.quality.consensus._enqueue_refit", lambda *a, **kw: None)


def _labelled(campaign: Campaign, harms: list[str]) -> Item:
    item = make_item(campaign=campaign, prompt__campaign=campaign)
    for harm in harms:
        extra = {"hazard": "hate"} if harm == "unsafe" else {}
        submitted(item, member(campaign), valid_values(harm=harm, **extra))
    consensus_vote_item(item=item, campaign=campaign)
    return item


ENDPOINTS = [
    ("get", "/api/campaigns/{c}/quality/", None),
    ("post", "/api/campaigns/{c}/quality/refit/", None),
    ("get", "/api/campaigns/{c}/review/?dimension=harm", None),
    ("get", "/api/campaigns/{c}/review/{i}/", None),
    ("post", "/api/campaigns/{c}/review/{i}/adjudicate/", {"dimension": "harm", "value": "safe"}),
    ("put", "/api/campaigns/{c}/items/{i}/gold/", {"gold_values": {"harm": "safe"}}),
    ("post", "/api/campaigns/{c}/gold/promote/", {}),
    ("post", "/api/campaigns/{c}/members/{u}/resume/", None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "expected"), [("outsider", 404), ("annotator", 403), ("viewer", 403)]
)
def test_only_the_campaigns_admins_reach_quality_control(
    campaign: Campaign,
    people: dict[str, Any],
    client_as: Any,
    method: str,
    url: str,
    body: Any,
    who: str,
    expected: int,
) -> None:
    item = _labelled(campaign, ["safe", "unsafe"])
    path = url.format(c=campaign.pk, i=item.pk, u=people["annotator"].pk)
    response = getattr(client_as(people[who]), method)(path, body, format="json")
    assert response.status_code == expected, response.content
    assert not Adjudication.objects.exists()
    assert not Item.objects.filter(is_gold=True).exists()


@pytest.mark.django_db
def test_an_item_of_another_campaign_is_not_found(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    other = Campaign.objects.exclude(pk=campaign.pk).first()
    assert other is not None  # the outsider's campaign
    foreign = _labelled(other, ["safe", "safe"])
    api = client_as(people["admin"])
    base = f"/api/campaigns/{campaign.pk}"
    assert api.get(f"{base}/review/{foreign.pk}/").status_code == 404
    body = {"dimension": "harm", "value": "unsafe"}
    assert (
        api.post(f"{base}/review/{foreign.pk}/adjudicate/", body, format="json").status_code == 404
    )
    gold = {"gold_values": {"harm": "safe"}}
    assert api.put(f"{base}/items/{foreign.pk}/gold/", gold, format="json").status_code == 404
    assert not Adjudication.objects.exists() and not Item.objects.filter(is_gold=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dimension": "nope", "value": "safe"}, "dimension"),
        ({"dimension": "rationale", "value": "x"}, "dimension"),
        ({"dimension": "harm", "value": "maybe"}, "value"),
        ({"dimension": "fluency", "value": 9}, "value"),
        ({"dimension": "harm"}, "value"),
        ({"dimension": "harm", "value": "safe", "note": "x" * 2001}, "note"),
    ],
)
def test_adjudication_names_the_bad_field(
    campaign: Campaign, people: dict[str, Any], client_as: Any, body: dict[str, Any], field: str
) -> None:
    item = _labelled(campaign, ["safe", "unsafe"])
    url = f"/api/campaigns/{campaign.pk}/review/{item.pk}/adjudicate/"
    response = client_as(people["admin"]).post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Adjudication.objects.exists()
    assert Consensus.objects.get(item=item, dimension="harm").method == "majority"


@pytest.mark.django_db
def test_adjudicating_overrides_consensus_and_undo_restores_the_vote(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    item = _labelled(campaign, ["safe", "safe", "unsafe"])
    api = client_as(people["admin"])
    url = f"/api/campaigns/{campaign.pk}/review/{item.pk}/adjudicate/"
    body = {"dimension": "harm", "value": "unsafe", "note": "the second half is a threat"}
    response = api.post(url, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["fitted"]["value"] == "safe"
    assert response.json()["adjudicated_by"] == people["admin"].username
    row = Consensus.objects.get(item=item, dimension="harm")
    assert (row.value, row.method, row.confidence) == ("unsafe", "adjudicated", 1.0)
    detail = api.get(f"/api/campaigns/{campaign.pk}/review/{item.pk}/").json()
    assert [a["values"]["harm"] for a in detail["annotations"]] == ["safe", "safe", "unsafe"]
    assert detail["adjudications"][0]["note"] == body["note"]
    response = api.delete(f"{url}?dimension=harm")
    assert response.status_code == 204
    row = Consensus.objects.get(item=item, dimension="harm")
    assert (row.value, row.method) == ("safe", "majority")
    assert api.delete(f"{url}?dimension=harm").status_code == 400
    bad = api.delete(f"{url}?dimension=nope")
    assert bad.status_code == 400 and "dimension" in bad.json()["errors"]


@pytest.mark.django_db
def test_review_queue_puts_disagreement_first_in_a_fixed_number_of_queries(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    split = _labelled(campaign, ["safe", "unsafe"])
    for _ in range(4):
        _labelled(campaign, ["safe", "safe"])
    api = client_as(people["admin"])
    url = f"/api/campaigns/{campaign.pk}/review/?dimension=harm&limit=3"
    api.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 5 and len(page["results"]) == 3
    assert page["results"][0]["item_id"] == split.pk
    assert page["results"][0]["confidence"] == 0.5
    # campaign + role, count, page (items, prompts and models joined in)
    assert len(queries) <= 4, [q["sql"] for q in queries]
    bad = api.get(f"/api/campaigns/{campaign.pk}/review/?dimension=rationale")
    assert bad.status_code == 400 and "dimension" in bad.json()["errors"]


@pytest.mark.django_db
def test_quality_overview_lists_every_annotator_in_a_fixed_number_of_queries(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    for _ in range(3):
        _labelled(campaign, ["safe", "unsafe", "safe"])
    api = client_as(people["admin"])
    url = f"/api/campaigns/{campaign.pk}/quality/"
    api.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200
    data = response.json()
    annotators = Membership.objects.filter(campaign=campaign, role="annotator").count()
    assert len(data["annotators"]) == annotators
    assert len(queries) <= 5, [q["sql"] for q in queries]


@pytest.mark.django_db
def test_gold_marking_validates_and_stays_invisible_to_annotators(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    item = make_item(campaign=campaign, prompt__campaign=campaign)
    api = client_as(people["admin"])
    url = f"/api/campaigns/{campaign.pk}/items/{item.pk}/gold/"
    bad = api.put(url, {"gold_values": {"harm": "maybe"}}, format="json")
    assert bad.status_code == 400 and "values.harm" in bad.json()["errors"]
    empty = api.put(url, {"gold_values": {"rationale": "x"}}, format="json")
    assert empty.status_code == 400 and "gold_values" in empty.json()["errors"]
    ok = api.put(url, {"gold_values": {"harm": "unsafe", "hazard": "hate"}}, format="json")
    assert ok.status_code == 200 and ok.json()["open_slots"] == 0
    Campaign.objects.filter(pk=campaign.pk).update(status="labeling", gold_rate=1.0)
    make_item(campaign=campaign, prompt__campaign=campaign)  # gold is mixed into regular work
    lease = client_as(people["annotator"]).post(f"/api/campaigns/{campaign.pk}/next/")
    assert lease.status_code == 200, lease.content
    assert lease.json()["assignment"]["item"]["id"] == item.pk  # gold served at the gold rate
    text = json.dumps(lease.json())
    assert "gold" not in text and "unsafe" not in text and "hate" not in text
    # Unmarking gives the slots back, less the annotator's live lease.
    unmarked = client_as(people["admin"]).delete(url)
    assert unmarked.json()["open_slots"] == campaign.overlap - 1


@pytest.mark.django_db
def test_resume_clears_a_pause(campaign: Campaign, people: dict[str, Any], client_as: Any) -> None:
    annotator = people["annotator"]
    Membership.objects.filter(campaign=campaign, user=annotator).update(
        paused_at=timezone.now(), pause_reason="gold accuracy 20%"
    )
    api = client_as(people["admin"])
    overview = api.get(f"/api/campaigns/{campaign.pk}/quality/").json()
    paused = next(a for a in overview["annotators"] if a["annotator_id"] == annotator.pk)
    assert paused["pause_reason"] == "gold accuracy 20%"
    ScoreRefresh.objects.filter(campaign=campaign).delete()
    response = api.post(f"/api/campaigns/{campaign.pk}/members/{annotator.pk}/resume/")
    assert response.status_code == 200 and response.json()["paused_at"] is None
    # The corrected harm rate left this annotator's answers out: the scores are refreshed.
    assert ScoreRefresh.objects.get(campaign=campaign).pending
    ScoreRefresh.objects.filter(campaign=campaign).update(pending=False)
    again = api.post(f"/api/campaigns/{campaign.pk}/members/{annotator.pk}/resume/")
    assert again.status_code == 200  # not paused: nothing changed, no refresh asked for
    assert not ScoreRefresh.objects.get(campaign=campaign).pending
    missing = api.post(f"/api/campaigns/{campaign.pk}/members/999999/resume/")
    assert missing.status_code == 404


@pytest.mark.django_db
def test_review_pages_show_stored_lone_surrogates_as_replacement_characters(
    campaign: Campaign, people: dict[str, Any], client_as: Any
) -> None:
    # As stored before inputs were checked: SQLite keeps them in JSON columns as \u escapes.
    item = make_item(campaign=campaign, prompt__campaign=campaign, gold_values={"x": "\udfff"})
    for rationale in ("x \udc00 y", "fine"):
        submitted(item, member(campaign), valid_values(rationale=rationale))
    consensus_vote_item(item=item, campaign=campaign)
    Consensus.objects.filter(item=item, dimension="harm").update(value="safe\ud800")
    Adjudication.objects.create(
        campaign=campaign,
        item=item,
        dimension="bias",
        value="none\udc01",
        fitted="\udc02",
        note="ok",
        adjudicated_at=timezone.now(),
    )
    api = client_as(people["admin"])
    r = api.get(f"/api/campaigns/{campaign.pk}/review/{item.pk}/")
    assert r.status_code == 200
    body = r.content.decode()  # valid UTF-8
    assert "x \ufffd y" in json.loads(body)["annotations"][0]["values"]["rationale"]
    assert json.loads(body)["gold_values"] == {"x": "\ufffd"}
    r = api.get(f"/api/campaigns/{campaign.pk}/review/?dimension=harm&include_resolved=true")
    assert r.status_code == 200
    assert [row["value"] for row in r.json()["results"]] == ["safe\ufffd"]
