"""Leasing, submitting and skipping: overlap, leases, preferences, retries, concurrency."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.db.models import Count
from django.utils import timezone

from core.errors import DomainError
from labeling.models import Annotation, Assignment, Campaign, Item, Membership
from labeling.queue import selectors as queue_selectors
from labeling.queue.services import annotation_submit, assignment_next, assignment_skip
from tests.factories import valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    campaign_with_items,
    make_campaign,
    make_item,
    member,
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _next(campaign: Campaign, user: Any, now: Any = None) -> Assignment:
    assignment = assignment_next(campaign=campaign, user=user, now=now)
    assert assignment is not None
    return assignment


def _submit(assignment: Assignment, user: Any, **overrides: Any) -> Annotation:
    return annotation_submit(
        assignment_id=assignment.pk, user=user, values=valid_values(**overrides)
    )


def _item(pk: int) -> Item:
    return Item.objects.get(pk=pk)


@pytest.mark.django_db
def test_an_annotator_never_gets_the_same_item_twice() -> None:
    campaign = campaign_with_items(6)
    user = member(campaign)
    seen = []
    while (lease := assignment_next(campaign=campaign, user=user)) is not None:
        seen.append(lease.item_id)
        _submit(lease, user)
    assert len(seen) == 6
    assert len(set(seen)) == 6
    assert Annotation.objects.filter(annotator=user).count() == 6
    assert set(Item.objects.values_list("open_slots", "n_submitted")) == {(2, 1)}


@pytest.mark.django_db
def test_next_returns_the_live_lease_again() -> None:
    campaign = campaign_with_items(3)
    user = member(campaign)
    first = _next(campaign, user)
    again = _next(campaign, user)
    assert again.pk == first.pk
    assert Assignment.objects.count() == 1
    assert _item(first.item_id).open_slots == 2  # a reload does not take a second slot


@pytest.mark.django_db
def test_third_annotator_gets_nothing_when_overlap_is_two() -> None:
    campaign = campaign_with_items(1, overlap=2)
    a, b, c = (member(campaign) for _ in range(3))
    lease_a = _next(campaign, a)
    lease_b = _next(campaign, b)
    assert lease_a.item_id == lease_b.item_id
    # Both leases are still active, not submitted: they count against the overlap.
    assert assignment_next(campaign=campaign, user=c) is None
    _submit(lease_a, a)
    _submit(lease_b, b)
    assert assignment_next(campaign=campaign, user=c) is None
    item = _item(lease_a.item_id)
    assert (item.open_slots, item.n_submitted) == (0, 2)


@pytest.mark.django_db
def test_expired_lease_returns_its_slot_and_a_late_submit_keeps_a_free_slot() -> None:
    campaign = campaign_with_items(1, overlap=2)
    a, b, c = (member(campaign) for _ in range(3))
    t0 = timezone.now()
    lease_a = _next(campaign, a, now=t0)
    _next(campaign, b, now=t0)
    assert assignment_next(campaign=campaign, user=c, now=t0) is None
    later = t0 + timedelta(minutes=campaign.lease_minutes, seconds=1)
    # b's and a's leases both expired; c takes one of the two freed slots.
    lease_c = _next(campaign, c, now=later)
    assert lease_c.item_id == lease_a.item_id
    assert Assignment.objects.get(pk=lease_a.pk).status == Assignment.Status.EXPIRED
    assert _item(lease_a.item_id).open_slots == 1
    # a comes back late: a slot is still free, so the work is kept.
    annotation = _submit(lease_a, a)
    assert annotation.assignment_id == lease_a.pk
    assert Assignment.objects.get(pk=lease_a.pk).status == Assignment.Status.SUBMITTED
    item = _item(lease_a.item_id)
    assert (item.open_slots, item.n_submitted) == (0, 1)


@pytest.mark.django_db
def test_late_submit_after_the_slot_was_taken_is_lease_lost() -> None:
    campaign = campaign_with_items(1, overlap=1, lease_minutes=10)
    a, b = member(campaign), member(campaign)
    t0 = timezone.now()
    lease_a = _next(campaign, a, now=t0)
    assert assignment_next(campaign=campaign, user=b, now=t0 + timedelta(minutes=9)) is None
    lease_b = _next(campaign, b, now=t0 + timedelta(minutes=10, seconds=1))
    assert lease_b.item_id == lease_a.item_id
    with pytest.raises(DomainError) as info:
        _submit(lease_a, a)
    assert (info.value.status_code, info.value.code) == (409, "lease_lost")
    assert not Annotation.objects.filter(annotator=a).exists()
    _submit(lease_b, b)
    item = _item(lease_b.item_id)
    assert (item.open_slots, item.n_submitted) == (0, 1)


@pytest.mark.django_db
def test_expired_lease_is_not_returned_as_the_current_one() -> None:
    campaign = campaign_with_items(2, overlap=1, lease_minutes=5)
    a = member(campaign)
    t0 = timezone.now()
    first = _next(campaign, a, now=t0)
    later = _next(campaign, a, now=t0 + timedelta(minutes=6))
    # The old lease was reclaimed, then renewed in place: one row per (item, annotator).
    assert (later.pk, later.item_id) == (first.pk, first.item_id)
    assert Assignment.objects.filter(annotator=a).count() == 1
    assert later.status == Assignment.Status.ACTIVE
    assert later.expires_at == t0 + timedelta(minutes=11)
    assert sum(Item.objects.values_list("open_slots", flat=True)) == 1


@pytest.mark.django_db
def test_items_already_started_are_preferred() -> None:
    campaign = campaign_with_items(2, overlap=3)
    first_item, second_item = Item.objects.order_by("random_key")
    a, b = member(campaign), member(campaign)
    lease = _next(campaign, a)
    assert lease.item_id == first_item.pk  # equal items: the fixed random order
    assignment_skip(assignment_id=lease.pk, user=a)
    lease = _next(campaign, a)
    assert lease.item_id == second_item.pk
    _submit(lease, a)
    # second_item has one submission, first_item none: b is sent to finish second_item.
    assert _next(campaign, b).item_id == second_item.pk


@pytest.mark.django_db
def test_skipped_item_goes_to_others_and_never_back() -> None:
    campaign = campaign_with_items(1, overlap=1)
    a, b = member(campaign), member(campaign)
    lease = _next(campaign, a)
    skipped = assignment_skip(assignment_id=lease.pk, user=a)
    assert skipped.status == Assignment.Status.SKIPPED
    assert _item(lease.item_id).open_slots == 1
    assert assignment_next(campaign=campaign, user=a) is None
    lease_b = _next(campaign, b)
    assert lease_b.item_id == lease.item_id
    assignment_skip(assignment_id=lease_b.pk, user=b)
    assert assignment_next(campaign=campaign, user=a) is None
    assert assignment_next(campaign=campaign, user=b) is None


@pytest.mark.django_db
def test_skip_twice_is_idempotent_and_submit_after_skip_conflicts() -> None:
    campaign = campaign_with_items(1)
    a = member(campaign)
    lease = _next(campaign, a)
    assignment_skip(assignment_id=lease.pk, user=a)
    assignment_skip(assignment_id=lease.pk, user=a)
    assert _item(lease.item_id).open_slots == 3  # the slot came back once, not twice
    with pytest.raises(DomainError) as info:
        _submit(lease, a)
    assert (info.value.status_code, info.value.code) == (409, "skipped")


@pytest.mark.django_db
def test_skip_after_submit_conflicts() -> None:
    campaign = campaign_with_items(1)
    a = member(campaign)
    lease = _next(campaign, a)
    _submit(lease, a)
    with pytest.raises(DomainError) as info:
        assignment_skip(assignment_id=lease.pk, user=a)
    assert (info.value.status_code, info.value.code) == (409, "already_submitted")
    assert _item(lease.item_id).open_slots == 2


@pytest.mark.django_db
def test_retried_submit_returns_the_same_annotation() -> None:
    campaign = campaign_with_items(1)
    a = member(campaign)
    lease = _next(campaign, a)
    first = _submit(lease, a, rationale="clear")
    retry = _submit(lease, a, rationale="clear")
    assert retry.pk == first.pk
    assert Annotation.objects.count() == 1
    assert _item(lease.item_id).n_submitted == 1
    with pytest.raises(DomainError) as info:
        _submit(lease, a, fluency=2)
    assert (info.value.status_code, info.value.code) == (409, "already_submitted")
    assert Annotation.objects.get().values["fluency"] == 4


@pytest.mark.django_db
def test_bad_values_keep_the_lease_active() -> None:
    campaign = campaign_with_items(1)
    a = member(campaign)
    lease = _next(campaign, a)
    with pytest.raises(DomainError) as info:
        _submit(lease, a, fluency=7)
    assert info.value.status_code == 400
    assert "values.fluency" in info.value.errors
    assert Assignment.objects.get(pk=lease.pk).status == Assignment.Status.ACTIVE
    _submit(lease, a)
    assert Annotation.objects.count() == 1


@pytest.mark.django_db
def test_submit_on_someone_elses_assignment_is_not_found() -> None:
    campaign = campaign_with_items(1)
    a, b = member(campaign), member(campaign)
    lease = _next(campaign, a)
    for caller in (b, member(campaign, Membership.Role.ADMIN)):
        with pytest.raises(DomainError) as info:
            _submit(lease, caller)
        assert info.value.status_code == 404
        with pytest.raises(DomainError) as info:
            assignment_skip(assignment_id=lease.pk, user=caller)
        assert info.value.status_code == 404
    assert Assignment.objects.get(pk=lease.pk).status == Assignment.Status.ACTIVE


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Campaign.Status.CLOSED, Campaign.Status.DRAFT])
def test_campaign_not_open_refuses_next(status: str) -> None:
    campaign = campaign_with_items(1, status=status)
    a = member(campaign)
    with pytest.raises(DomainError) as info:
        assignment_next(campaign=campaign, user=a)
    assert (info.value.status_code, info.value.code) == (409, "campaign_not_open")
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_generating_campaign_is_open_for_labeling() -> None:
    campaign = campaign_with_items(1, status=Campaign.Status.GENERATING)
    assert assignment_next(campaign=campaign, user=member(campaign)) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer", "outsider"])
def test_only_annotators_and_admins_lease(role: str) -> None:
    campaign = campaign_with_items(1)
    user = member(campaign, "viewer") if role == "viewer" else member(make_campaign())
    with pytest.raises(DomainError) as info:
        assignment_next(campaign=campaign, user=user)
    assert info.value.status_code == 403
    admin = member(campaign, Membership.Role.ADMIN)
    assert assignment_next(campaign=campaign, user=admin) is not None


@pytest.mark.django_db
def test_items_of_other_campaigns_are_never_leased() -> None:
    campaign = campaign_with_items(1, overlap=1)
    other = campaign_with_items(3)
    a = member(campaign)
    lease = _next(campaign, a)
    assert lease.item.campaign_id == campaign.pk
    _submit(lease, a)
    assert assignment_next(campaign=campaign, user=a) is None
    assert set(Item.objects.filter(campaign=other).values_list("open_slots", flat=True)) == {3}


@pytest.mark.django_db
def test_annotators_never_see_others_labels(client_as: Any) -> None:
    campaign = campaign_with_items(1)
    a, b = member(campaign), member(campaign)
    _submit(_next(campaign, a), a, harm="unsafe", hazard="hate", rationale="slur")
    r = client_as(b).post(f"/api/campaigns/{campaign.pk}/next/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"assignment", "upcoming", "progress", "care"}
    assert set(body["assignment"]) == {"id", "item", "status", "leased_at", "expires_at"}
    assert set(body["assignment"]["item"]) == {"id", "prompt", "text", "sensitive"}
    assert set(body["progress"]) == {"done", "available", "available_capped", "generating"}
    assert "unsafe" not in r.content.decode()
    assert "slur" not in r.content.decode()


@pytest.mark.django_db
def test_next_counts_open_items_only_up_to_the_cap(client_as: Any, monkeypatch: Any) -> None:
    """`next` runs on every item, so it stops counting open items at the cap and says so;
    my-progress still counts them all."""
    campaign = campaign_with_items(6)
    a = member(campaign)
    monkeypatch.setattr(queue_selectors, "PROGRESS_CAP", 4)
    body = client_as(a).post(f"/api/campaigns/{campaign.pk}/next/").json()
    assert body["progress"] == {
        "done": 0,
        "available": 4,
        "available_capped": True,
        "generating": None,
    }
    exact = client_as(a).get(f"/api/campaigns/{campaign.pk}/my-progress/").json()
    assert exact == {"done": 0, "available": 6, "available_capped": False, "generating": None}

    monkeypatch.setattr(queue_selectors, "PROGRESS_CAP", 7)
    body = client_as(a).post(f"/api/campaigns/{campaign.pk}/next/").json()
    assert body["progress"] == {
        "done": 0,
        "available": 6,
        "available_capped": False,
        "generating": None,
    }


# --- concurrency -----------------------------------------------------------------------------

N_ITEMS, OVERLAP, N_ANNOTATORS = 60, 3, 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_annotators_never_exceed_the_overlap(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    campaign = make_campaign(overlap=OVERLAP)
    for _ in range(N_ITEMS):
        make_item(campaign=campaign, prompt__campaign=campaign)
    users = [member(campaign) for _ in range(N_ANNOTATORS)]
    errors: list[BaseException] = []
    done: Counter[int] = Counter()
    barrier = threading.Barrier(N_ANNOTATORS)
    deadline = time.monotonic() + 60

    def work(user: Any) -> None:
        try:
            barrier.wait(timeout=10)
            while time.monotonic() < deadline:
                lease = assignment_next(campaign=campaign, user=user)
                if lease is None:
                    break
                annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
                done[user.pk] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    assert Annotation.objects.count() == N_ITEMS * OVERLAP == sum(done.values())
    pairs = Annotation.objects.values("item", "annotator").annotate(n=Count("id"))
    assert all(p["n"] == 1 for p in pairs)
    per_item = dict(Annotation.objects.values_list("item").annotate(n=Count("id")).order_by())
    for item in Item.objects.filter(campaign=campaign):
        assert item.open_slots >= 0
        assert item.n_submitted <= OVERLAP
        assert item.n_submitted == per_item.get(item.pk, 0) == OVERLAP
        assert item.open_slots == 0
    assert not Assignment.objects.filter(status=Assignment.Status.ACTIVE).exists()
    # Work was shared: more than the minimum number of annotators took part.
    assert len(done) >= OVERLAP


def test_a_new_lease_is_a_complete_model_instance(
    campaign: Any, people: dict[str, Any], items: list[Any]
) -> None:
    """The hot path builds the lease from hand-written SQL; every field must still be there."""
    lease = assignment_next(campaign=campaign, user=people["annotator"])
    assert lease is not None
    stored = Assignment.objects.select_related("item__prompt").get(pk=lease.pk)
    assert lease.item.model_id == stored.item.model_id
    assert lease.item.provenance == stored.item.provenance  # deferred: loaded on access
    assert lease.item.prompt.split == stored.item.prompt.split
    assert (lease.status, lease.expires_at) == (stored.status, stored.expires_at)
    lease.save()  # updates the existing row
    assert Assignment.objects.count() == 1
