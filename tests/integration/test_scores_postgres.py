"""Scores and exports on PostgreSQL with a real worker on Redis: labels submitted through the
API, a read of the stale scores queues one debounced refresh that the worker runs (the task is
registered through CELERY_IMPORTS), the leaderboard reads the result, and the exports (JSON key
casts, streaming, Parquet, Label Studio round trip) work on PostgreSQL."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from labeling.models import Annotation, Assignment, Item, ScoreRefresh, ScoreSummary
from labeling.scores import refresh as score_refresh
from tests.factories import (
    CampaignFactory,
    CandidateModelFactory,
    ItemFactory,
    MembershipFactory,
    valid_values,
)
from tests.worker import celery_worker, wait_for


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _label_all(campaign: Any, people: list[Any]) -> None:
    for k, user in enumerate(people):
        api = APIClient()
        api.force_authenticate(user)
        while True:
            lease = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]
            if lease is None:
                break
            unsafe = lease["item"]["text"].startswith("risky")
            values = (
                valid_values(harm="unsafe", hazard="weapons", fluency=2 + k)
                if unsafe
                else valid_values(fluency=5)
            )
            r = api.post(
                f"/api/assignments/{lease['id']}/submit/", {"values": values}, format="json"
            )
            assert r.status_code == 201, r.content


@pytest.mark.django_db(transaction=True)
def test_stale_scores_are_refreshed_by_the_worker(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(score_refresh, "REFRESH_DEBOUNCE_S", 1)
    campaign = CampaignFactory.create(status="labeling", overlap=2)
    risky = CandidateModelFactory.create(name="risky")
    careful = CandidateModelFactory.create(name="careful")
    for model, text in ((risky, "risky output"), (careful, "careful output")):
        for _ in range(4):
            ItemFactory.create(campaign=campaign, prompt__campaign=campaign, model=model, text=text)
    admin = MembershipFactory.create(campaign=campaign, role="admin").user
    people = [MembershipFactory.create(campaign=campaign, role="annotator").user for _ in range(2)]
    _label_all(campaign, people)
    api = APIClient()
    api.force_authenticate(admin)
    log = tmp_path / "worker.log"
    with celery_worker(log):
        first = api.get(f"/api/campaigns/{campaign.pk}/scores/").json()
        assert first["summary"]["stale"] is True and first["summary"]["pending"] is True
        wait_for(
            lambda: ScoreRefresh.objects.filter(
                campaign=campaign, pending=False, refreshed_at__isnull=False
            ).first(),
            timeout=120,
            what="the debounced scores refresh",
            log=log,
        )
    text = log.read_text(errors="replace")
    assert len(re.findall(r"Task labeling\.refresh_scores\[[^\]]+\] succeeded", text)) == 1, text[
        -3000:
    ]
    body = api.get(f"/api/campaigns/{campaign.pk}/scores/").json()
    assert body["summary"]["stale"] is False
    by_name = {m["model"]: m["all"]["dimensions"] for m in body["models"]}
    assert by_name["risky"]["harm"]["rate"] == 1.0 and by_name["careful"]["harm"]["rate"] == 0.0
    assert by_name["risky"]["fluency"]["mean"] == pytest.approx(2.5)
    board = api.get(f"/api/leaderboard/?campaign={campaign.pk}").json()["results"]
    assert [(r["model"], r["rank"]) for r in board] == [("careful", 1), ("risky", 2)]
    assert ScoreSummary.objects.filter(campaign=campaign, kind="breakdown").exists()


@pytest.mark.django_db(transaction=True)
def test_exports_and_label_studio_round_trip_on_postgres(tmp_path: Path) -> None:
    campaign = CampaignFactory.create(status="labeling", overlap=2)
    for k in range(3):
        ItemFactory.create(campaign=campaign, prompt__campaign=campaign, text=f"risky output {k}")
    admin = MembershipFactory.create(campaign=campaign, role="admin").user
    people = [MembershipFactory.create(campaign=campaign, role="annotator").user for _ in range(2)]
    _label_all(campaign, people)
    api = APIClient()
    api.force_authenticate(admin)
    r = api.get(f"/api/campaigns/{campaign.pk}/export/?as=jsonl")
    rows = [json.loads(x) for x in _body(r).splitlines()]
    assert len(rows) == 6 and {row["harm"] for row in rows} == {"unsafe"}
    r = api.get(f"/api/campaigns/{campaign.pk}/export/?as=parquet")
    zipfile.ZipFile(io.BytesIO(_body(r))).extractall(tmp_path)
    assert pq.read_table(tmp_path / "annotations.parquet").num_rows == 6

    r = api.get(f"/api/campaigns/{campaign.pk}/export/?as=label_studio")
    tasks = json.loads(zipfile.ZipFile(io.BytesIO(_body(r))).read("tasks.json"))
    before = sorted(
        (a.item_id, a.annotator_id, json.dumps(a.values, sort_keys=True))
        for a in Annotation.objects.filter(item__campaign=campaign)
    )
    Annotation.objects.filter(item__campaign=campaign).delete()
    Assignment.objects.filter(campaign=campaign).delete()
    Item.objects.filter(campaign=campaign).update(n_submitted=0, open_slots=2)
    r = api.post(
        f"/api/campaigns/{campaign.pk}/label-studio/import/", {"tasks": tasks}, format="json"
    )
    assert r.status_code == 201, r.content
    after = sorted(
        (a.item_id, a.annotator_id, json.dumps(a.values, sort_keys=True))
        for a in Annotation.objects.filter(item__campaign=campaign)
    )
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_incremental_refresh_on_postgres_equals_a_full_recompute_under_concurrency(
    monkeypatch: Any,
) -> None:
    """Random rounds of changes on PostgreSQL; each round two refreshes of the campaign run at
    once in two threads (two connections, as two worker processes would), and the stored
    summary must equal a full recompute of the data."""
    import random
    import threading

    from django.db import connection

    from labeling.scores import harm
    from labeling.scores.incremental import score_summary_update
    from tests.labeling.scores.test_refresh_incremental import CHANGES, World, _full, _stored

    monkeypatch.setattr(harm, "PPI_MIN_LABELED", 5)
    rng = random.Random(42)
    world = World(rng)
    cid = world.campaign.pk
    assert score_summary_update(campaign_id=cid) is not None
    assert _stored(cid) == _full(cid)
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            score_summary_update(campaign_id=cid)
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)
        finally:
            connection.close()

    for _ in range(4):
        for change in rng.sample(CHANGES, 3):
            getattr(world, change)()
        threads = [threading.Thread(target=refresh) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert _stored(cid) == _full(cid)
    state = ScoreRefresh.objects.get(campaign_id=cid)
    assert state.data_at is not None and state.slices_total
