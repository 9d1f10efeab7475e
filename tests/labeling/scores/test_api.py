"""The scores endpoints: leaderboard filters and visibility, model examples, refresh, staleness."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Campaign, Consensus, Item, Membership, ScoreRefresh
from labeling.scores.summary import score_summary_refresh
from tests.factories import MembershipFactory
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    agree,
    item_for,
    make_campaign,
    make_model,
    make_user,
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _campaign_with_models(
    harm: dict[str, list[str]], *, private: dict[str, list[str]] | None = None, **kwargs: Any
) -> Campaign:
    """One item per label: harm = {model name: [consensus harm per public item]}."""
    campaign = make_campaign(**kwargs)
    for split, table in (("public", harm), ("private", private or {})):
        for name, labels in table.items():
            model = make_model(name=name)
            for label in labels:
                agree(item_for(campaign, model=model, split=split), harm=label, fluency=4.0)
    score_summary_refresh(campaign_id=campaign.pk)
    return campaign


@pytest.fixture
def board(db: Any) -> dict[str, Any]:
    admin, viewer, annotator, outsider = (make_user() for _ in range(4))
    good = ["safe"] * 40
    bad = ["unsafe"] * 30 + ["safe"] * 10
    c1 = _campaign_with_models(
        {"good": good, "bad": bad, "mid": ["unsafe"] * 5 + good[:35]},
        private={"good": ["safe", "unsafe"]},
        name="first",
    )
    c2 = _campaign_with_models({"good": good[:10]}, name="second")
    for campaign in (c1, c2):
        MembershipFactory.create(campaign=campaign, user=admin, role=Membership.Role.ADMIN)
    MembershipFactory.create(campaign=c1, user=viewer, role=Membership.Role.VIEWER)
    MembershipFactory.create(campaign=c1, user=annotator, role=Membership.Role.ANNOTATOR)
    return {
        "c1": c1,
        "c2": c2,
        "admin": admin,
        "viewer": viewer,
        "annotator": annotator,
        "outsider": outsider,
    }


def test_leaderboard_ranks_models_per_campaign(board: dict[str, Any], client_as: Any) -> None:
    r = client_as(board["viewer"]).get("/api/leaderboard/")
    assert r.status_code == 200, r.content
    body = r.json()
    rows = body["results"]
    assert [(row["campaign"], row["model"], row["rank"]) for row in rows] == [
        ("first", "good", 1),
        ("first", "mid", 1),
        ("first", "bad", 3),
    ]
    assert body["count"] == 3
    good = rows[0]
    # Overall includes the two private items (one unsafe): 1 of 42.
    assert good["dimension"] == "harm" and good["n"] == 42
    assert good["value"] == pytest.approx(1 / 42)
    assert 0 < good["low"] < good["value"] < good["high"] < 0.15
    assert "Wilson" in good["method"]
    assert good["ppi"]["estimate"] is None and good["ppi"]["reason"]
    assert good["held_out"]["private"] == 0.5
    # Only dimensions with a value are offered (no raw fluency ratings were given here).
    assert body["filters"] == {"dimensions": ["harm"], "categories": []}


def test_leaderboard_filters(board: dict[str, Any], client_as: Any) -> None:
    api = client_as(board["admin"])
    both = api.get("/api/leaderboard/").json()
    assert {row["campaign"] for row in both["results"]} == {"first", "second"}
    only = api.get(f"/api/leaderboard/?campaign={board['c2'].pk}").json()["results"]
    assert [(row["campaign"], row["model"]) for row in only] == [("second", "good")]
    private = api.get(f"/api/leaderboard/?split=private&campaign={board['c1'].pk}").json()
    assert [(row["model"], row["value"], row["n"]) for row in private["results"]] == [
        ("good", 0.5, 2)
    ]
    paged = api.get("/api/leaderboard/?limit=2").json()
    assert paged["count"] == 4 and len(paged["results"]) == 2 and paged["next"]
    assert api.get("/api/leaderboard/?dimension=nothing").json()["count"] == 0


def test_leaderboard_hides_campaigns_the_caller_cannot_read(
    board: dict[str, Any], client_as: Any
) -> None:
    for role in ("annotator", "outsider"):
        r = client_as(board[role]).get(f"/api/leaderboard/?campaign={board['c1'].pk}")
        assert r.status_code == 200
        assert r.json()["count"] == 0 and r.json()["filters"]["dimensions"] == []
    viewer = client_as(board["viewer"]).get(f"/api/leaderboard/?campaign={board['c2'].pk}")
    assert viewer.json()["count"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("split=hidden", "split"),
        ("dimension=DROP TABLE", "dimension"),
        ("campaign=abc", "campaign"),
        ("category=" + "x" * 201, "category"),
    ],
)
def test_leaderboard_bad_input(
    board: dict[str, Any], client_as: Any, query: str, field: str
) -> None:
    r = client_as(board["admin"]).get(f"/api/leaderboard/?{query}")
    assert r.status_code == 400
    assert field in r.json()["errors"]


def test_leaderboard_query_count_does_not_grow(board: dict[str, Any], client_as: Any) -> None:
    api = client_as(board["admin"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/api/leaderboard/").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(3):
        c = _campaign_with_models({f"extra-{i}": ["safe"] * 3, "good": ["safe"]})
        MembershipFactory.create(campaign=c, user=board["admin"], role=Membership.Role.ADMIN)
    assert api.get("/api/leaderboard/").json()["count"] == 3 + 1 + 6
    assert count() == small


def test_model_examples_hide_private_prompts_from_non_admins(
    board: dict[str, Any], client_as: Any
) -> None:
    good = Item.objects.filter(campaign=board["c1"], model__name="good")
    url = f"/api/models/{good.first().model_id}/examples/"  # type: ignore[union-attr]

    def splits(role: str, query: str = "") -> list[str]:
        r = client_as(board[role]).get(url + query)
        assert r.status_code == 200, r.content
        return sorted({row["split"] for row in r.json()["results"]} | set())

    admin = client_as(board["admin"]).get(url + "?limit=500").json()
    assert admin["count"] == 40 + 2 + 10
    assert splits("admin", "?limit=500") == ["private", "public"]
    viewer = client_as(board["viewer"]).get(url + "?limit=500").json()
    assert viewer["count"] == 40 and {row["split"] for row in viewer["results"]} == {"public"}
    assert client_as(board["outsider"]).get(url).json()["count"] == 0
    assert client_as(board["annotator"]).get(url).json()["count"] == 0
    one = client_as(board["admin"]).get(url + f"?campaign={board['c2'].pk}").json()
    assert one["count"] == 10 and one["results"][0]["text"]
    assert client_as(board["admin"]).get(url + "?campaign=x").status_code == 400


def test_campaign_scores_queue_a_refresh_when_consensus_changed(
    board: dict[str, Any], client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c1 = board["c1"]
    api = client_as(board["viewer"])
    with mock.patch("labeling.scores.tasks.refresh_scores.apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            fresh = api.get(f"/api/campaigns/{c1.pk}/scores/").json()
        assert fresh["summary"]["stale"] is False and send.call_count == 0
        item = Item.objects.filter(campaign=c1).first()
        assert item is not None
        Consensus.objects.filter(item=item, dimension="harm").update(value="unsafe")
        Consensus.objects.filter(item=item, dimension="harm").first().save()  # type: ignore[union-attr]
        with django_capture_on_commit_callbacks(execute=True):
            stale = api.get(f"/api/campaigns/{c1.pk}/scores/").json()
            again = api.get(f"/api/campaigns/{c1.pk}/scores/").json()
    assert stale["summary"]["stale"] is True and stale["summary"]["pending"] is True
    assert again["summary"]["pending"] is True
    send.assert_called_once_with(args=(c1.pk,), countdown=15)  # a burst queues one refresh
    assert ScoreRefresh.objects.get(campaign=c1).pending is True
    score_summary_refresh(campaign_id=c1.pk)
    done = api.get(f"/api/campaigns/{c1.pk}/scores/").json()["summary"]
    assert (done["stale"], done["pending"]) == (False, False)


def test_scores_refresh_endpoint(
    board: dict[str, Any], client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c1 = board["c1"]
    with (
        mock.patch("labeling.scores.tasks.refresh_scores.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        r = client_as(board["admin"]).post(f"/api/campaigns/{c1.pk}/scores/refresh/")
    assert r.status_code == 202 and r.json()["pending"] is True
    send.assert_called_once_with(args=(c1.pk,), countdown=0)
    assert (
        client_as(board["viewer"]).post(f"/api/campaigns/{c1.pk}/scores/refresh/").status_code
        == 403
    )
    assert (
        client_as(board["outsider"]).post(f"/api/campaigns/{c1.pk}/scores/refresh/").status_code
        == 404
    )
    assert (
        client_as(board["admin"]).post("/api/campaigns/999999/scores/refresh/").status_code == 404
    )


def test_refresh_task_runs_the_service(board: dict[str, Any], settings: Any) -> None:
    from labeling.scores.tasks import refresh_scores

    c2 = board["c2"]
    Consensus.objects.filter(campaign=c2, dimension="harm").update(value="unsafe")
    refresh_scores.apply(args=(c2.pk,))
    from labeling.scores.selectors import campaign_scores

    (row,) = campaign_scores(c2)
    assert row["all"]["dimensions"]["harm"]["rate"] == 1.0
    refresh_scores.apply(args=(999_999,))  # a deleted campaign is a no-op, not an error


def test_leaderboard_queues_refreshes_for_missing_or_outdated_summaries(
    board: dict[str, Any], client_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from labeling.models import QualityState

    never = make_campaign(name="never scored")
    MembershipFactory.create(campaign=never, user=board["admin"], role=Membership.Role.ADMIN)
    refit = timezone.now() + timedelta(minutes=5)
    QualityState.objects.create(campaign=board["c1"], last_refit_at=refit)
    QualityState.objects.create(
        campaign=board["c2"], last_refit_at=timezone.now() - timedelta(days=1)
    )
    api = client_as(board["admin"])
    with (
        mock.patch("labeling.scores.tasks.refresh_scores.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert api.get("/api/leaderboard/").status_code == 200
        assert api.get("/api/leaderboard/").status_code == 200  # already pending: not asked again
    queued = sorted(call.kwargs["args"][0] for call in send.call_args_list)
    assert queued == sorted([board["c1"].pk, never.pk])
    # A viewer's leaderboard only looks at the campaigns they read.
    with mock.patch("labeling.scores.tasks.refresh_scores.apply_async") as send:
        client_as(board["outsider"]).get("/api/leaderboard/")
    assert send.call_count == 0


def test_model_scores_pool_the_campaigns_the_caller_reads(
    board: dict[str, Any], client_as: Any
) -> None:
    from labeling.scores.stats.intervals import wilson_interval

    good = make_model(name="good")

    def overall(role: str) -> dict[str, Any]:
        r = client_as(board[role]).get(f"/api/models/{good.pk}/scores/")
        assert r.status_code == 200, r.content
        body: dict[str, Any] = r.json()["overall"]
        return body

    both = overall("admin")  # first: 40 public + 2 private items, one unsafe; second: 10 safe
    assert both["n_campaigns"] == 2
    harm = both["dimensions"]["harm"]
    assert (harm["k"], harm["n"], harm["n_campaigns"]) == (1, 52, 2)
    assert harm["rate"] == pytest.approx(1 / 52)
    assert (harm["low"], harm["high"]) == pytest.approx(wilson_interval(1, 52))
    assert "summed over campaigns" in harm["method"]
    only_first = overall("viewer")["dimensions"]["harm"]
    assert (only_first["k"], only_first["n"]) == (1, 42)
    assert overall("outsider") == {
        "n_campaigns": 0,
        "n_items": 0,
        "n_labeled_items": 0,
        "n_annotations": 0,
        "dimensions": {},
    }


def test_pooled_means_weight_by_labels_and_combine_the_intervals() -> None:
    from labeling.scores.selectors import pooled_over_campaigns
    from labeling.scores.stats.intervals import Z95

    def entry(mean: float, half: float, n: int) -> dict[str, Any]:
        score = {"type": "likert", "kind": "mean", "mean": mean, "n": n}
        score |= {"low": mean - half, "high": mean + half}
        counts = {"n_items": n, "n_labeled_items": n, "n_annotations": 3 * n}
        return {"all": {**counts, "dimensions": {"fluency": score}}}

    pooled = pooled_over_campaigns([entry(4.0, 0.2, 30), entry(3.0, 0.4, 10)])
    fluency = pooled["dimensions"]["fluency"]
    assert fluency["mean"] == pytest.approx(0.75 * 4.0 + 0.25 * 3.0)
    se = ((0.75 * 0.2 / Z95) ** 2 + (0.25 * 0.4 / Z95) ** 2) ** 0.5
    assert fluency["high"] - fluency["mean"] == pytest.approx(Z95 * se)
    assert fluency["n"] == 40 and pooled["n_annotations"] == 120
    # A dimension scored as a rate in one campaign and a mean in another is not pooled.
    clash = entry(4.0, 0.2, 30)
    clash["all"]["dimensions"]["fluency"]["kind"] = "rate"
    assert "fluency" not in pooled_over_campaigns([clash, entry(3.0, 0.4, 10)])["dimensions"]
