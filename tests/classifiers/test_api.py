"""The classifier API: who may read and retrain, bad input, private items, query counts; the
one-run-at-a-time rule and the retraining trigger."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from classifiers.models import ClassifierVersion, Prediction, TrainingRun
from classifiers.services.runs import retrain_if_due
from labeling.models import Campaign, Item, Membership
from tests.classifiers.helpers import labeled_campaign
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

METRICS = {
    "n": 4,
    "classes": ["safe", "unsafe"],
    "accuracy": 0.75,
    "macro_f1": 0.73,
    "auroc": 0.8,
    "auprc": 0.7,
    "ece": 0.1,
    "confusion_matrix": [[2, 0], [1, 1]],
    "reliability": [{"lower": 0.5, "upper": 0.6, "confidence": 0.55, "accuracy": 0.5, "count": 4}],
    "support": [2, 2],
}


def roles(campaign: Campaign) -> dict[str, Any]:
    out: dict[str, Any] = {
        str(r): MembershipFactory.create(campaign=campaign, role=r).user for r in Membership.Role
    }
    out["outsider"] = UserFactory.create()
    return out


def trained(campaign: Campaign, items: list[Item], *, active: bool = True) -> ClassifierVersion:
    """A finished run and its version with predictions, stored directly (no training)."""
    run = TrainingRun.objects.create(
        campaign=campaign,
        target="harm",
        backend="tfidf_logreg",
        status="succeeded",
        classes=["safe", "unsafe"],
        metrics=METRICS,
        n_labels=4,
        train_item_ids=[i.pk for i in items[:2]],
        eval_item_ids=[i.pk for i in items[2:4]],
    )
    version = ClassifierVersion.objects.create(
        run=run,
        campaign=campaign,
        target="harm",
        name=f"harm-r{run.pk}",
        is_active=active,
        promoted=active,
        decision="first version",
    )
    Prediction.objects.bulk_create(
        Prediction(
            version=version,
            item=item,
            label="unsafe" if k % 2 else "safe",
            probabilities={"safe": 1 - k / len(items), "unsafe": k / len(items)},
            positive_probability=k / len(items),
            priority=0.5,
        )
        for k, item in enumerate(items)
    )
    return version


@pytest.fixture
def setup() -> tuple[Campaign, list[Item], dict[str, Any]]:
    campaign, items = labeled_campaign(24, n_unlabeled=4)
    return campaign, items, roles(campaign)


def test_readers_see_the_overview_annotators_and_outsiders_do_not(
    setup: tuple[Campaign, list[Item], dict[str, Any]], client_as: Any
) -> None:
    campaign, items, people = setup
    version = trained(campaign, items)
    url = f"/api/campaigns/{campaign.pk}/classifier/"
    for who in ("admin", "viewer"):
        body = client_as(people[who]).get(url).json()
        harm = next(t for t in body["targets"] if t["name"] == "harm")
        assert body["primary_target"] == "harm" and harm["classes"] == ["safe", "unsafe"]
        assert harm["labels"] == 24 and harm["new_labels"] == 24 - 4
        assert harm["active_version"]["name"] == version.name
        assert harm["active_version"]["metrics"]["confusion_matrix"] == [[2, 0], [1, 1]]
    assert client_as(people["annotator"]).get(url).status_code == 403
    assert client_as(people["outsider"]).get(url).status_code == 404


def test_run_list_is_per_campaign_and_reads_in_fixed_queries(
    setup: tuple[Campaign, list[Item], dict[str, Any]],
    client_as: Any,
    django_assert_max_num_queries: Any,
) -> None:
    campaign, items, people = setup
    for _ in range(3):
        version = trained(campaign, items, active=False)
    other, other_items = labeled_campaign(4)
    trained(other, other_items)
    client = client_as(people["viewer"])
    with django_assert_max_num_queries(5):
        body = client.get(f"/api/campaigns/{campaign.pk}/classifier/runs/").json()
    assert body["count"] == 3
    assert body["results"][0]["version"]["name"] == version.name
    assert body["results"][0]["metrics"]["macro_f1"] == 0.73
    run_id = body["results"][0]["id"]
    detail = client.get(f"/api/classifier-runs/{run_id}/").json()
    assert detail["n_train"] == 2 and detail["n_eval"] == 2
    other_run = TrainingRun.objects.get(campaign=other)
    assert client.get(f"/api/classifier-runs/{other_run.pk}/").status_code == 404
    with django_assert_max_num_queries(4):
        versions = client.get(f"/api/campaigns/{campaign.pk}/classifier/versions/").json()
    assert len(versions) == 3


def test_retrain_button_validates_and_allows_one_run_at_a_time(
    setup: tuple[Campaign, list[Item], dict[str, Any]], client_as: Any
) -> None:
    campaign, _, people = setup
    url = f"/api/campaigns/{campaign.pk}/classifier/runs/"
    admin = client_as(people["admin"])
    bad = [
        ({"target": "harm", "backend": "svm"}, "backend"),
        ({"target": "fluency", "backend": "tfidf_logreg"}, "target"),
        (
            {"target": "harm", "backend": "transformer", "hyperparameters": {"epochs": 0}},
            "hyperparameters.epochs",
        ),
        (
            {"target": "harm", "backend": "transformer", "hyperparameters": {"model_path": "/etc"}},
            "hyperparameters.model_path",
        ),
        ({"target": "harm", "backend": "tfidf_logreg", "hyperparameters": [1]}, "hyperparameters"),
    ]
    for body, field in bad:
        response = admin.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], response.json()
    assert not TrainingRun.objects.exists()

    ok = {"target": "harm", "backend": "tfidf_logreg", "hyperparameters": {"C": 2}}
    assert client_as(people["viewer"]).post(url, ok, format="json").status_code == 403
    assert client_as(people["outsider"]).post(url, ok, format="json").status_code == 404
    response = client_as(people["admin"]).post(url, ok, format="json")
    assert response.status_code == 201, response.json()
    run = TrainingRun.objects.get()
    assert run.status == "queued" and run.trigger == "manual" and run.hyperparameters == {"C": 2.0}
    assert run.requested_by == people["admin"]
    again = admin.post(url, {"target": "harm", "backend": "transformer"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "run_in_progress"
    # A different target may run alongside; too few labels is a clear 400.
    bias = admin.post(url, {"target": "bias", "backend": "tfidf_logreg"}, format="json")
    assert bias.status_code == 400 and bias.json()["code"] == "not_enough_labels"


def test_the_database_refuses_a_second_active_run() -> None:
    campaign, _ = labeled_campaign(2)
    TrainingRun.objects.create(campaign=campaign, target="harm", backend="tfidf_logreg")
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(
            campaign=campaign, target="harm", backend="transformer", status="running"
        )
    TrainingRun.objects.create(campaign=campaign, target="bias", backend="tfidf_logreg")


def test_predictions_hide_private_items_from_viewers(
    setup: tuple[Campaign, list[Item], dict[str, Any]],
    client_as: Any,
    django_assert_max_num_queries: Any,
) -> None:
    campaign, items, people = setup
    private = items[-1]
    private.prompt.split = "private"
    private.prompt.save()
    trained(campaign, items)
    url = f"/api/campaigns/{campaign.pk}/classifier/predictions/"
    with django_assert_max_num_queries(8):
        admin_rows = client_as(people["admin"]).get(url + "?limit=100").json()
    viewer_rows = client_as(people["viewer"]).get(url + "?limit=100").json()
    assert admin_rows["count"] == len(items) and viewer_rows["count"] == len(items) - 1
    assert private.pk not in {r["item_id"] for r in viewer_rows["results"]}
    probs = [r["positive_probability"] for r in admin_rows["results"]]
    assert probs == sorted(probs, reverse=True)
    assert client_as(people["annotator"]).get(url).status_code == 403
    bad = client_as(people["admin"]).get(url + "?target=nope")
    assert bad.status_code == 400 and "target" in bad.json()["errors"]


def test_retrain_if_due_counts_new_labels_since_the_last_snapshot() -> None:
    campaign, items = labeled_campaign(30, retrain_every=25)
    run = retrain_if_due(campaign.pk)
    assert run is not None and run.trigger == "auto" and run.target == "harm"
    assert retrain_if_due(campaign.pk) is None  # one is already queued
    TrainingRun.objects.filter(pk=run.pk).update(
        status="succeeded", n_labels=30, train_item_ids=[i.pk for i in items]
    )
    assert retrain_if_due(campaign.pk) is None  # nothing new since that snapshot
    Campaign.objects.filter(pk=campaign.pk).update(retrain_every=0)
    TrainingRun.objects.filter(pk=run.pk).update(train_item_ids=[])
    assert retrain_if_due(campaign.pk) is None  # 0: only by hand


def test_a_run_whose_worker_is_gone_stops_blocking_after_a_while(
    setup: tuple[Campaign, list[Item], dict[str, Any]], client_as: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    campaign, _, people = setup
    long_ago = timezone.now() - timedelta(hours=13)
    stuck = TrainingRun.objects.create(
        campaign=campaign,
        target="harm",
        backend="transformer",
        status="running",
        started_at=long_ago,
    )
    url = f"/api/campaigns/{campaign.pk}/classifier/runs/"
    response = client_as(people["admin"]).post(
        url, {"target": "harm", "backend": "tfidf_logreg"}, format="json"
    )
    assert response.status_code == 201
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "worker" in stuck.error
    recent = TrainingRun.objects.get(pk=response.json()["id"])
    assert recent.status == "queued"
    again = client_as(people["admin"]).post(
        url, {"target": "harm", "backend": "tfidf_logreg"}, format="json"
    )
    assert again.status_code == 409  # a recent run still blocks
