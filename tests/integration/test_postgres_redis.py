"""The API flow on PostgreSQL with Redis as the broker and a real worker; concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connections
from django.db.models import Count
from rest_framework.test import APIClient

from generation.models import GenerationJob
from labeling.models import Annotation, Assignment, Item, Membership
from labeling.scores.summary import score_summary_refresh
from tests.factories import (
    CampaignFactory,
    ItemFactory,
    MembershipFactory,
    UserFactory,
    valid_values,
)
from tests.generation.test_worker import run_kill_resume
from tests.generation.tiny_model import build_tiny_model
from tests.worker import celery_worker, wait_for


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@pytest.mark.django_db(transaction=True)
def test_api_flow_generation_labeling_scores(tmp_path: Path) -> None:
    staff = UserFactory.create(username="boss", is_staff=True)
    annotators = [UserFactory.create(username=f"ann{i}") for i in range(3)]
    api = APIClient()
    api.force_authenticate(staff)
    r = api.post("/api/campaigns/", {"name": "pg flow", "overlap": 2}, format="json")
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    for user in annotators:
        r = api.post(
            f"/api/campaigns/{cid}/members/",
            {"username": user.username, "role": "annotator"},
            format="json",
        )
        assert r.status_code == 201
    prompts = "\n".join(
        f'{{"text": "question {i}?", "split": "{"private" if i % 5 == 4 else "public"}"}}'
        for i in range(10)
    )
    r = api.post(
        f"/api/campaigns/{cid}/prompts/import/",
        {"content": prompts, "format": "jsonl"},
        format="json",
    )
    assert r.json()["created"] == 10
    model_dir = build_tiny_model(tmp_path / "model")
    r = api.post(
        "/api/models/",
        {"name": "tiny", "backend": "transformers", "path": str(model_dir)},
        format="json",
    )
    model_id = r.json()["id"]
    log = tmp_path / "worker.log"
    with celery_worker(log):
        r = api.post(
            f"/api/campaigns/{cid}/jobs/",
            {"model": model_id, "params": {"max_new_tokens": 8}},
            format="json",
        )
        assert r.status_code == 201, r.content
        job_id = r.json()["id"]
        wait_for(
            lambda: api.get(f"/api/jobs/{job_id}/").json()["status"] == "succeeded",
            timeout=180,
            what="generation on the worker",
            log=log,
        )
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert (job["done"], job["total"]) == (10, 10)

    for user in annotators:
        client = APIClient()
        client.force_authenticate(user)
        while True:
            lease = client.post(f"/api/campaigns/{cid}/next/").json()["assignment"]
            if lease is None:
                break
            r = client.post(
                f"/api/assignments/{lease['id']}/submit/",
                {"values": valid_values(fluency=3)},
                format="json",
            )
            assert r.status_code == 201, r.content
    assert Annotation.objects.count() == 20  # 10 items x overlap 2
    # The summary refresh is debounced (15 s) on the worker; run it now rather than wait.
    score_summary_refresh(campaign_id=cid)
    scores = api.get(f"/api/campaigns/{cid}/scores/").json()["models"][0]
    assert scores["all"]["n_labeled_items"] == 10
    assert scores["all"]["dimensions"]["fluency"]["mean"] == 3.0
    assert scores["private"]["n_items"] == 2


@pytest.mark.django_db(transaction=True)
def test_worker_kill_and_resume_on_postgres_and_redis(tmp_path: Path) -> None:
    run_kill_resume(tmp_path)


@pytest.mark.django_db(transaction=True)
def test_thirty_two_annotators_label_at_once_and_nothing_is_lost_or_doubled() -> None:
    """32 annotators, each a thread with its own connection, run next + submit until the queue
    is empty: no (item, annotator) twice, no item past its overlap, every 201 stored."""
    overlap, n_items, n_threads = 3, 96, 32
    campaign = CampaignFactory.create(overlap=overlap)
    users = [
        MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user
        for _ in range(n_threads)
    ]
    for _ in range(n_items):
        ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
    stored: list[int] = []
    statuses: Counter[int] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(n_threads)

    def annotate(user: Any) -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            start.wait(timeout=60)  # all 32 begin together
            for _ in range(n_items):
                r = client.post(f"/api/campaigns/{campaign.pk}/next/")
                with lock:
                    statuses[r.status_code] += 1
                assert r.status_code == 200, r.content
                lease = r.json()["assignment"]
                if lease is None:
                    return
                r = client.post(
                    f"/api/assignments/{lease['id']}/submit/",
                    {"values": valid_values()},
                    format="json",
                )
                with lock:
                    statuses[r.status_code] += 1
                if r.status_code != 201:
                    raise AssertionError(f"submit {r.status_code}: {r.content!r}")
                with lock:
                    stored.append(r.json()["id"])
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=annotate, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[:3]
    assert set(statuses) == {200, 201}, statuses
    # 0 lost submits: every 201 is a stored annotation, and nothing else is stored.
    assert len(stored) == len(set(stored)) == n_items * overlap
    assert set(Annotation.objects.values_list("id", flat=True)) == set(stored)
    # 0 duplicates: no annotator labeled an item twice.
    pairs = Counter(Annotation.objects.values_list("item_id", "annotator_id"))
    assert max(pairs.values()) == 1
    # 0 items over their overlap (and, the queue being empty, none under it).
    per_item = dict(Item.objects.annotate(n=Count("annotations")).values_list("id", "n"))
    assert set(per_item.values()) == {overlap}
    assert not Item.objects.filter(open_slots__lt=0).exists()
    assert not Assignment.objects.filter(status="active").exists()
    assert len({a for _, a in pairs}) > n_threads // 2  # the work was in fact shared
    assert GenerationJob.objects.count() == 0
