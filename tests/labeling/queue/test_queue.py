"""What `next` hands out: random order, the active learner's priority, gold mixed in, pauses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.errors import DomainError
from labeling.models import Assignment, Item, Membership, QueueStrategy
from labeling.queue import sql
from labeling.queue.serializers import (
    AnnotationSerializer,
    AssignmentSerializer,
    annotation_data,
    lease_data,
)
from labeling.queue.services import (
    annotation_submit,
    assignment_leases,
    assignment_next,
    assignment_skip,
    reclaim_expired,
)
from tests.factories import valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    campaign_with_items,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _set(items: list[Item], field: str, values: list[Any]) -> None:
    for item, value in zip(items, values, strict=True):
        setattr(item, field, value)
        item.save(update_fields=[field])


def _make_gold(item: Item) -> None:
    item.is_gold = True
    item.gold_values = valid_values()
    item.open_slots = 0  # gold sits outside the open-slot queue
    item.save(update_fields=["is_gold", "gold_values", "open_slots"])


def test_random_strategy_follows_the_fixed_random_key() -> None:
    campaign = campaign_with_items(4)
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    _set(items, "random_key", [0.9, 0.1, 0.5, 0.3])
    user = member(campaign)
    order = []
    while (lease := assignment_next(campaign=campaign, user=user)) is not None:
        order.append(lease.item_id)
        annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
    assert order == [items[1].pk, items[3].pk, items[2].pk, items[0].pk]


def test_started_items_come_before_the_random_order() -> None:
    campaign = campaign_with_items(3)
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    _set(items, "random_key", [0.1, 0.2, 0.9])
    first = member(campaign)
    lease = assignment_next(campaign=campaign, user=first)
    assert lease is not None and lease.item_id == items[0].pk
    # A second annotator finishes the started item first, even with others' keys lower.
    _set(items[1:2], "random_key", [0.0])
    lease2 = assignment_next(campaign=campaign, user=member(campaign))
    assert lease2 is not None and lease2.item_id == items[0].pk


@pytest.mark.parametrize(("share", "expect"), [(0.0, "priority"), (1.0, "random")])
def test_uncertainty_strategy_orders_by_priority_and_keeps_a_random_share(
    share: float, expect: str
) -> None:
    campaign = campaign_with_items(3, queue_strategy=QueueStrategy.UNCERTAINTY, random_share=share)
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    _set(items, "random_key", [0.1, 0.5, 0.9])
    _set(items, "priority", [0.2, 0.0, 0.8])
    lease = assignment_next(campaign=campaign, user=member(campaign))
    assert lease is not None
    assert lease.item_id == (items[2].pk if expect == "priority" else items[0].pk)


def test_gold_is_mixed_in_without_taking_slots_and_never_ends_the_queue() -> None:
    campaign = campaign_with_items(3, gold_rate=1.0, overlap=1)
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    _make_gold(items[0])
    user = member(campaign)
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None and lease.item_id == items[0].pk
    items[0].refresh_from_db()
    assert items[0].open_slots == 0
    annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
    # Gold already answered: the regular items follow, each once.
    got = []
    while (lease := assignment_next(campaign=campaign, user=user)) is not None:
        got.append(lease.item_id)
        annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
    assert sorted(got) == [items[1].pk, items[2].pk]
    # Another annotator with no regular work left gets no gold either.
    for item in items[1:]:
        item.refresh_from_db()
        assert item.open_slots == 0
    assert assignment_next(campaign=campaign, user=member(campaign)) is None


def test_gold_goes_to_the_least_answered_gold_item_first() -> None:
    """Gold answers spread over every gold item (sensitivity and specificity are measured per
    item), not onto the first few by random key."""
    campaign = campaign_with_items(6, gold_rate=1.0, overlap=3)
    items = list(Item.objects.filter(campaign=campaign).order_by("id"))
    golds = items[:3]
    for gold in golds:
        _make_gold(gold)
    _set(golds, "random_key", [0.1, 0.2, 0.3])
    answered = []
    for _ in range(3):
        user = member(campaign)
        lease = assignment_next(campaign=campaign, user=user)
        assert lease is not None
        answered.append(lease.item_id)
        annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
    # By random key alone, all three would have taken golds[0].
    assert answered == [g.pk for g in golds]


def test_gold_leases_that_expire_or_are_skipped_give_no_slot_back() -> None:
    campaign = campaign_with_items(2, gold_rate=1.0)
    gold = Item.objects.filter(campaign=campaign).order_by("id").first()
    assert gold is not None
    _make_gold(gold)
    user, other = member(campaign), member(campaign)
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None and lease.item_id == gold.pk
    assignment_skip(assignment_id=lease.pk, user=user)
    later = timezone.now() + timedelta(hours=2)
    lease2 = assignment_next(campaign=campaign, user=other)
    assert lease2 is not None and lease2.item_id == gold.pk
    reclaim_expired(campaign=campaign, now=later)
    gold.refresh_from_db()
    assert gold.open_slots == 0
    assert Assignment.objects.get(pk=lease2.pk).status == Assignment.Status.EXPIRED


def test_a_paused_annotator_gets_no_items_and_is_told_why(client_as: Any) -> None:
    campaign = campaign_with_items(2)
    user = member(campaign)
    Membership.objects.filter(campaign=campaign, user=user).update(
        paused_at=timezone.now(), pause_reason="gold accuracy 0.40 < 0.60 after 5 gold items"
    )
    with pytest.raises(DomainError) as err:
        assignment_next(campaign=campaign, user=user)
    assert err.value.code == "paused"
    r = client_as(user).post(f"/api/campaigns/{campaign.pk}/next/")
    assert r.status_code == 403
    assert r.json()["code"] == "paused"
    assert "gold accuracy 0.40" in r.json()["detail"]


def test_hand_built_responses_match_the_serializers() -> None:
    campaign = campaign_with_items(2)
    user = member(campaign)
    leases = assignment_leases(campaign=campaign, user=user, ahead=1)
    assert len(leases) == 2
    for lease in leases:
        from_orm = Assignment.objects.select_related("item__prompt").get(pk=lease.pk)
        assert lease_data(lease) == AssignmentSerializer(from_orm).data
    annotation = annotation_submit(assignment_id=leases[0].pk, user=user, values=valid_values())
    stored = type(annotation).objects.get(pk=annotation.pk)
    assert annotation_data(annotation) == AnnotationSerializer(stored).data
    assert stored.created_at == annotation.created_at
    assert stored.values == annotation.values


def test_hand_built_rows_are_complete_instances() -> None:
    campaign = campaign_with_items(1, gold_rate=0.25)
    user = member(campaign)
    found = sql.campaign_with_member(campaign.pk, user.pk)
    assert found is not None
    fetched, membership = found
    assert fetched.gold_rate == 0.25 and fetched.created_at == campaign.created_at
    assert fetched.rubric.schema == campaign.rubric.schema  # JSON decoded, as the ORM does
    assert membership.role == "annotator" and membership.paused_at is None
    lease = assignment_next(campaign=campaign, user=user)
    assert lease is not None
    locked = sql.lock_own_assignment(lease.pk, user.pk)
    assert locked is not None
    assignment, _ = locked
    assert assignment.expires_at == Assignment.objects.get(pk=lease.pk).expires_at
    assert assignment.item.provenance == {}  # left out of the statement: loads on access
    assert sql.lock_own_assignment(lease.pk, member(campaign).pk) is None


def test_a_submission_is_stored_counted_and_handed_to_the_vote() -> None:
    """record_submission (one statement on PostgreSQL) stores the annotation, marks the lease
    submitted, counts it on the item and returns every answer of the item, its own included."""
    from labeling.models import Annotation, Consensus

    campaign = campaign_with_items(1)
    first, second = member(campaign), member(campaign)
    lease = assignment_next(campaign=campaign, user=first)
    assert lease is not None
    annotation_submit(assignment_id=lease.pk, user=first, values=valid_values(truthfulness="false"))
    lease = assignment_next(campaign=campaign, user=second)
    assert lease is not None
    mine = Annotation(
        item=lease.item,
        annotator=second,
        assignment=lease,
        values=valid_values(),
        created_at=timezone.now(),
    )
    answers = sql.record_submission(mine, lease.pk, lease.item_id, timezone.now())
    assert mine.pk is not None and not mine._state.adding
    assert Annotation.objects.get(pk=mine.pk).values == valid_values()
    assert sorted(a["truthfulness"] for a in answers) == ["false", "truthful"]
    assert Assignment.objects.get(pk=lease.pk).status == Assignment.Status.SUBMITTED
    assert Item.objects.get(pk=lease.item_id).n_submitted == 2
    # The first submit's vote went through the same path: one row per answered dimension.
    assert Consensus.objects.get(item_id=lease.item_id, dimension="truthfulness").value == "false"


def test_token_auth_in_one_statement(django_assert_num_queries: Any) -> None:
    campaign = campaign_with_items(1)
    user = member(campaign)
    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    # The token with its user, the campaign with the caller's role, the progress.
    with django_assert_num_queries(3):
        assert api.get(f"/api/campaigns/{campaign.pk}/my-progress/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    r = api.get(f"/api/campaigns/{campaign.pk}/my-progress/")
    # 401 with WWW-Authenticate: token auth comes first (assay/settings.py).
    assert r.status_code == 401 and "Invalid token" in r.json()["detail"]
    assert r["WWW-Authenticate"] == "Token"
    user.is_active = False
    user.save(update_fields=["is_active"])
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    r = api.get(f"/api/campaigns/{campaign.pk}/my-progress/")
    assert r.status_code == 401 and "inactive" in r.json()["detail"]


@pytest.mark.parametrize(
    ("order", "index"),
    [("random", "item_next_open"), ("priority", "item_next_priority"), ("gold", "item_gold")],
)
def test_each_pick_uses_its_index(order: str, index: str) -> None:
    campaign = campaign_with_items(30)
    for item in Item.objects.filter(campaign=campaign)[:5]:
        _make_gold(item)
    user = member(campaign)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        where, order_by = sql._ORDERS[order]
        pick = sql._PICK.format(where=where, order=order_by)
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + pick, [campaign.pk, user.pk])
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + pick, [campaign.pk, user.pk])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan  # the index gives the order: no sort


def test_classifier_scores_land_on_the_campaigns_items_and_stale_the_scores() -> None:
    from labeling.campaigns.services import ClassifierScore, items_set_classifier_scores
    from labeling.models import ScoreRefresh

    campaign, other = campaign_with_items(2), campaign_with_items(1)
    mine = list(Item.objects.filter(campaign=campaign).order_by("id"))
    theirs = Item.objects.get(campaign=other)
    scores = {
        mine[0].pk: ClassifierScore(harm_probability=0.9, priority=0.7),
        mine[1].pk: ClassifierScore(harm_probability=0.1, priority=None),
        theirs.pk: ClassifierScore(harm_probability=0.5, priority=1.0),
    }
    with pytest.raises(ValueError, match="not in"):
        items_set_classifier_scores(
            campaign=campaign, version="v0", scores={mine[0].pk: ClassifierScore(1.5, 0.1)}
        )
    assert items_set_classifier_scores(campaign=campaign, version="v1", scores=scores) == 2
    for item in mine:
        item.refresh_from_db()
    assert [(i.harm_probability, i.priority, i.classifier_version) for i in mine] == [
        (0.9, 0.7, "v1"),
        (0.1, 0.0, "v1"),
    ]
    theirs.refresh_from_db()
    assert theirs.harm_probability is None and theirs.classifier_version == ""
    assert ScoreRefresh.objects.get(campaign=campaign).pending
