"""The `next` picks' index use, checked on PostgreSQL too (the planner differs from SQLite's),
and the hot path's statements prepared on the server."""

from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Item
from labeling.queue import sql
from tests.factories import valid_values
from tests.labeling.care.test_care import test_the_opt_out_filter_keeps_each_picks_index
from tests.labeling.factories_extra import campaign_with_items, member
from tests.labeling.queue.test_queue import test_each_pick_uses_its_index

pytestmark = pytest.mark.django_db

__all__ = ["test_each_pick_uses_its_index", "test_the_opt_out_filter_keeps_each_picks_index"]


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_hot_statements_are_prepared_once_per_connection(settings: Any) -> None:
    """From their second run on a connection, next's and submit's fixed statements are
    prepared statements: PostgreSQL no longer parses and plans them per request."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    campaign = campaign_with_items(6)
    user = member(campaign)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    for _ in range(3):
        lease = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]
        r = api.post(f"/api/assignments/{lease['id']}/submit/", {"values": valid_values()}, "json")
        assert r.status_code == 201, r.content
    prepared = _prepared()
    wanted = {
        "authtoken_token": "the token lookup",
        "FOR UPDATE OF i SKIP LOCKED": "the pick",
        "INSERT INTO labeling_assignment": "the lease",
        "SUM(CASE WHEN a.status = 'submitted'": "the progress",
        "INSERT INTO labeling_annotation": "the annotation",
        "INSERT INTO labeling_dailyexposure": "the day's exposure (with the annotation)",
        "labeling_consensus": "the per-submit vote",
    }
    missing = [what for needle, what in wanted.items() if not any(needle in s for s in prepared)]
    assert not missing, (missing, prepared)
    # The ORM's own statements bind on the client and are never prepared.
    assert not any('"labeling_campaign"."id"' in s for s in prepared)


@pytest.mark.parametrize(
    ("order", "index"),
    [("random", "item_next_open"), ("priority", "item_next_priority"), ("gold", "item_gold")],
)
def test_the_one_statement_pick_and_lease_uses_the_same_index(order: str, index: str) -> None:
    campaign = campaign_with_items(30)
    Item.objects.filter(pk__in=Item.objects.filter(campaign=campaign).values("pk")[:5]).update(
        is_gold=True, open_slots=0
    )
    user = member(campaign)
    now = timezone.now()
    statement, params = sql.pick_and_lease_pg(campaign.pk, user.pk, order, now, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SET enable_seqscan = off")
        # EXPLAIN without ANALYZE plans the statement and runs none of its writes.
        cursor.execute("EXPLAIN " + statement, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert index in plan, plan
    assert "Sort" not in plan, plan  # the index gives the order
