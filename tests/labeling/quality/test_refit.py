"""The full consensus refit: methods, gold as known truth, conditional dimensions, overrides."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core.errors import DomainError
from labeling.models import (
    Adjudication,
    Annotation,
    Assignment,
    Campaign,
    Consensus,
    Item,
    QualityState,
    ScoreRefresh,
)
from labeling.quality import consensus as consensus_service
from labeling.quality.consensus import consensus_refit
from labeling.quality.gold import gold_promote_unanimous, item_mark_gold
from tests.factories import valid_values
from tests.labeling.factories_extra import FAST_HASHERS, campaign_with_items, member


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def sent(monkeypatch: Any) -> list[tuple[str, Any]]:
    """What the refit hands to the broker: the retraining task by name, and re-queued refits."""
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        "celery.current_app.send_task", lambda name, args=None, **kw: calls.append((name, args))
    )
    monkeypatch.setattr(
        consensus_service, "_enqueue_refit", lambda cid, countdown=0: calls.append(("refit", cid))
    )
    return calls


def _annotate(item: Item, user: Any, values: dict[str, Any]) -> None:
    """A submitted label written directly: these tests are about the refit, not leasing."""
    now = timezone.now()
    assignment = Assignment.objects.create(
        campaign=item.campaign,
        item=item,
        annotator=user,
        status=Assignment.Status.SUBMITTED,
        leased_at=now,
        expires_at=now + timedelta(minutes=5),
        finished_at=now,
    )
    Annotation.objects.create(item=item, annotator=user, assignment=assignment, values=values)


def _noisy_campaign(n_items: int = 40, seed: int = 3) -> tuple[Campaign, dict[int, str]]:
    """Two careful annotators, three who answer at random; every item labelled by all five."""
    rng = random.Random(seed)
    campaign = campaign_with_items(n_items, overlap=5)
    careful = [member(campaign) for _ in range(2)]
    careless = [member(campaign) for _ in range(3)]
    truth = {}
    for item in Item.objects.filter(campaign=campaign):
        truth[item.pk] = rng.choice(["safe", "unsafe"])
        for user in careful:
            right = rng.random() < 0.95
            harm = truth[item.pk] if right else {"safe": "unsafe", "unsafe": "safe"}[truth[item.pk]]
            _annotate(item, user, _harm(harm))
        for user in careless:
            _annotate(item, user, _harm(rng.choice(["safe", "unsafe"])))
    return campaign, truth


def _harm(harm: str) -> dict[str, Any]:
    return valid_values(harm=harm, **({"hazard": "hate"} if harm == "unsafe" else {}))


def _accuracy(campaign: Campaign, truth: dict[int, str]) -> float:
    got = dict(
        Consensus.objects.filter(campaign=campaign, dimension="harm").values_list(
            "item_id", "value"
        )
    )
    return sum(got[i] == t for i, t in truth.items()) / len(truth)


@pytest.mark.django_db
def test_dawid_skene_outweighs_random_annotators_where_majority_cannot(
    sent: list[Any],
) -> None:
    campaign, truth = _noisy_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(consensus_method="majority")
    consensus_refit(campaign_id=campaign.pk, report=False)
    majority = _accuracy(campaign, truth)
    Campaign.objects.filter(pk=campaign.pk).update(consensus_method="dawid_skene")
    summary = consensus_refit(campaign_id=campaign.pk, report=False)
    assert summary is not None and summary["methods"]["harm"] == "dawid_skene"
    ds = _accuracy(campaign, truth)
    assert ds > majority
    assert ds >= 0.9
    row = Consensus.objects.filter(campaign=campaign, dimension="harm").first()
    assert row is not None and row.method == "dawid_skene" and row.n_labels == 5
    assert row.posterior is not None and sum(row.posterior.values()) == pytest.approx(1.0)
    assert row.confidence == pytest.approx(max(row.posterior.values()))
    assert ("classifiers.retrain_if_due", [campaign.pk]) in sent
    # The scores summary reads consensus: the refit asked for a refresh.
    assert ScoreRefresh.objects.get(campaign=campaign).pending


@pytest.mark.django_db
def test_too_few_labels_per_annotator_falls_back_to_weighted_majority(sent: list[Any]) -> None:
    campaign = campaign_with_items(1, overlap=3)
    item = Item.objects.get()
    for harm in ("unsafe", "unsafe", "safe"):
        _annotate(item, member(campaign), _harm(harm))
    summary = consensus_refit(campaign_id=campaign.pk, report=False)
    assert summary is not None and summary["methods"]["harm"] == "wawa"
    row = Consensus.objects.get(item=item, dimension="harm")
    assert row.value == "unsafe" and row.method == "wawa"


@pytest.mark.django_db
def test_conditional_dimensions_follow_the_parents_consensus(sent: list[Any]) -> None:
    campaign = campaign_with_items(2, overlap=3)
    unsafe_item, safe_item = Item.objects.order_by("id")
    people = [member(campaign) for _ in range(3)]
    for user, harm in zip(people, ("unsafe", "unsafe", "safe"), strict=True):
        _annotate(unsafe_item, user, _harm(harm))
    for user, harm in zip(people, ("unsafe", "safe", "safe"), strict=True):
        _annotate(safe_item, user, _harm(harm))
    # A leftover row the fit no longer supports goes; a gold row stays.
    Consensus.objects.create(
        campaign=campaign,
        item=safe_item,
        dimension="hazard",
        value="hate",
        confidence=1,
        method="majority",
    )
    consensus_refit(campaign_id=campaign.pk, report=False)
    assert Consensus.objects.get(item=unsafe_item, dimension="hazard").value == "hate"
    assert not Consensus.objects.filter(item=safe_item, dimension="hazard").exists()
    fluency = Consensus.objects.get(item=safe_item, dimension="fluency")
    assert fluency.method == "mean" and fluency.value == 4


@pytest.mark.django_db
def test_gold_and_adjudicated_rows_survive_a_refit_and_the_fit_is_kept_aside(
    sent: list[Any],
) -> None:
    campaign, _ = _noisy_campaign(n_items=12)
    gold_item, judged = Item.objects.filter(campaign=campaign).order_by("id")[:2]
    item_mark_gold(campaign=campaign, item_id=gold_item.pk, gold_values={"harm": "safe"})
    Consensus.objects.filter(item=judged, dimension="harm").delete()
    Consensus.objects.create(
        campaign=campaign,
        item=judged,
        dimension="harm",
        value="unsafe",
        confidence=1.0,
        method="adjudicated",
    )
    Adjudication.objects.create(
        campaign=campaign,
        item=judged,
        dimension="harm",
        value="unsafe",
        adjudicated_at=timezone.now(),
    )
    consensus_refit(campaign_id=campaign.pk, report=False)
    assert Consensus.objects.get(item=gold_item, dimension="harm").method == "gold"
    kept = Consensus.objects.get(item=judged, dimension="harm")
    assert (kept.method, kept.value) == ("adjudicated", "unsafe")
    fitted = Adjudication.objects.get(item=judged).fitted
    assert fitted is not None and fitted["method"] == "dawid_skene"
    assert fitted["value"] in ("safe", "unsafe")


@pytest.mark.django_db
def test_a_second_refit_of_the_same_campaign_waits_its_turn(sent: list[Any]) -> None:
    campaign = campaign_with_items(1)
    QualityState.objects.create(campaign=campaign, refit_started_at=timezone.now())
    assert consensus_refit(campaign_id=campaign.pk) is None
    assert sent == [("refit", campaign.pk)]
    assert QualityState.objects.get(campaign=campaign).refit_scheduled is True
    # A refit that died long ago does not block the next one.
    QualityState.objects.filter(campaign=campaign).update(
        refit_started_at=timezone.now() - timedelta(hours=1)
    )
    assert consensus_refit(campaign_id=campaign.pk) is not None
    state = QualityState.objects.get(campaign=campaign)
    assert state.refit_started_at is None and state.last_refit_s is not None


@pytest.mark.django_db
def test_the_report_has_alpha_kappa_and_annotator_figures(sent: list[Any]) -> None:
    campaign, _ = _noisy_campaign(n_items=30)
    consensus_refit(campaign_id=campaign.pk)
    report = QualityState.objects.get(campaign=campaign).report
    harm = report["dimensions"]["harm"]
    assert harm["level"] == "nominal" and harm["n_units"] == 30
    assert harm["ci95"][0] <= harm["alpha"] <= harm["ci95"][1]
    assert harm["flagged"] is (harm["alpha"] < 0.667)
    assert len(harm["kappa"]) == 10  # five annotators, every pair shares all 30 items
    assert report["dimensions"]["fluency"]["level"] == "ordinal"
    assert report["dimensions"]["harmful_spans"]["level"] == "nominal (characters)"
    assert "rationale" not in report["dimensions"]
    people = report["annotators"]
    assert len(people) == 5 and all(p["n_labels"] == 30 for p in people)
    careful = sorted(people, key=lambda p: -p["agreement"])[:2]
    assert all(p["agreement"] > 0.8 for p in careful)
    assert all(set(p["confusion"]["harm"]) == {"safe", "unsafe"} for p in people)


@pytest.mark.django_db
def test_unanimous_items_can_be_promoted_to_gold(sent: list[Any]) -> None:
    campaign = campaign_with_items(2, overlap=3)
    unanimous, split = Item.objects.order_by("id")
    people = [member(campaign) for _ in range(3)]
    for user in people:
        _annotate(unanimous, user, _harm("unsafe"))
    for user, harm in zip(people, ("safe", "safe", "unsafe"), strict=True):
        _annotate(split, user, _harm(harm))
    for item in (unanimous, split):
        consensus_service.consensus_vote_item(item=item, campaign=campaign)
    promoted = gold_promote_unanimous(campaign=campaign, min_labels=3)
    assert promoted == [unanimous.pk]
    unanimous.refresh_from_db()
    assert unanimous.is_gold and unanimous.open_slots == 0
    # Every categorical dimension the annotators agreed on becomes expected.
    assert unanimous.gold_values == {
        "harm": "unsafe",
        "hazard": "hate",
        "bias": "none",
        "truthfulness": "truthful",
        "informative": "yes",
    }
    with pytest.raises(DomainError):
        gold_promote_unanimous(campaign=campaign, min_labels=1)


@pytest.mark.django_db
def test_a_vote_written_while_the_refit_fitted_is_not_overwritten(sent: list[Any]) -> None:
    campaign, _ = _noisy_campaign(n_items=10)
    item = Item.objects.filter(campaign=campaign).order_by("id").first()
    assert item is not None
    consensus_service.consensus_vote_item(item=item, campaign=campaign)
    # As if a submit voted this item after the refit had read the annotations.
    later = timezone.now() + timedelta(seconds=30)
    Consensus.objects.filter(item=item, dimension="harm").update(value="fresh", updated_at=later)
    consensus_refit(campaign_id=campaign.pk, report=False)
    assert Consensus.objects.get(item=item, dimension="harm").value == "fresh"
    assert Consensus.objects.get(item=item, dimension="bias").method == "dawid_skene"


@pytest.mark.django_db
def test_a_redelivered_refit_takes_back_the_slot_its_killed_worker_held(sent: list[Any]) -> None:
    campaign = campaign_with_items(1)
    # The worker that ran task "t-1" was killed mid-refit: the slot is still held, by t-1.
    QualityState.objects.create(
        campaign=campaign, refit_started_at=timezone.now(), refit_owner="t-1"
    )
    assert consensus_refit(campaign_id=campaign.pk, owner="t-2") is None  # another task waits
    assert consensus_refit(campaign_id=campaign.pk, owner="t-1") is not None  # t-1 redelivered
    state = QualityState.objects.get(campaign=campaign)
    assert state.refit_started_at is None and state.refit_owner == ""


@pytest.mark.django_db
def test_a_refit_flag_whose_message_was_lost_expires(sent: list[Any]) -> None:
    campaign = campaign_with_items(1)
    now = timezone.now()
    QualityState.objects.create(campaign=campaign, refit_scheduled=True, refit_requested_at=now)
    assert consensus_service.schedule_refit(campaign.pk) is False  # one is waiting
    # The flag is older than any debounce: the worker holding its message was killed.
    old = now - consensus_service.REFIT_STALE - timedelta(seconds=1)
    QualityState.objects.filter(campaign=campaign).update(refit_requested_at=old)
    assert consensus_service.schedule_refit(campaign.pk) is True
    requested = QualityState.objects.get(campaign=campaign).refit_requested_at
    assert requested is not None and requested > old


@pytest.mark.django_db
def test_a_refit_slot_held_too_long_is_not_reported_as_running(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    admin = member(campaign, "admin")
    started = timezone.now() - consensus_service.REFIT_STALE - timedelta(seconds=1)
    QualityState.objects.create(campaign=campaign, refit_started_at=started)
    body = client_as(admin).get(f"/api/campaigns/{campaign.pk}/quality/").json()
    assert body["refit_running"] is False


@pytest.mark.django_db
def test_a_scores_refresh_flag_whose_message_was_lost_expires() -> None:
    from labeling.scores.refresh import REFRESH_STALE, score_summary_request

    campaign = campaign_with_items(1)
    now = timezone.now()
    ScoreRefresh.objects.create(campaign=campaign, pending=True, requested_at=now)
    assert score_summary_request(campaign_id=campaign.pk) is False
    ScoreRefresh.objects.filter(campaign=campaign).update(
        requested_at=now - REFRESH_STALE - timedelta(seconds=1)
    )
    assert score_summary_request(campaign_id=campaign.pk) is True
