"""Quality control on PostgreSQL + Redis with a real worker: submits schedule one debounced
refit on the `default` queue, which fits Dawid-Skene and stores the quality report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from labeling.models import Consensus, Item, QualityState
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, valid_values
from tests.worker import celery_worker, wait_for


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_submits_gets_one_refit_from_the_worker(tmp_path: Path, settings: Any) -> None:
    settings.QUALITY_REFIT_DEBOUNCE_S = 3
    campaign = CampaignFactory.create(status="labeling", overlap=3)
    items = [ItemFactory.create(campaign=campaign, prompt__campaign=campaign) for _ in range(8)]
    people = [MembershipFactory.create(campaign=campaign, role="annotator").user for _ in range(3)]
    log = tmp_path / "worker.log"
    with celery_worker(log):
        for k, user in enumerate(people):
            api = APIClient()
            api.force_authenticate(user)
            while True:
                lease = api.post(f"/api/campaigns/{campaign.pk}/next/").json()["assignment"]
                if lease is None:
                    break
                harm = "unsafe" if (lease["item"]["id"] + k) % 4 == 0 else "safe"
                extra = {"hazard": "hate"} if harm == "unsafe" else {}
                r = api.post(
                    f"/api/assignments/{lease['id']}/submit/",
                    {"values": valid_values(harm=harm, **extra)},
                    format="json",
                )
                assert r.status_code == 201, r.content
        # Every submit voted its item at once; the worker's refit replaces the votes.
        assert Consensus.objects.filter(item__in=items, dimension="harm").count() == len(items)
        state = wait_for(
            lambda: QualityState.objects.filter(
                campaign=campaign, report_at__isnull=False, refit_scheduled=False
            ).first(),
            timeout=120,
            what="the debounced refit and its report",
            log=log,
        )
    text = log.read_text(errors="replace")
    refits = re.findall(r"Task labeling\.refit_consensus\[[^\]]+\] succeeded", text)
    assert len(refits) == 1, text[-3000:]
    assert state.last_refit_s is not None and state.refit_started_at is None
    methods = set(
        Consensus.objects.filter(item__campaign=campaign, dimension="harm").values_list(
            "method", flat=True
        )
    )
    assert methods == {"dawid_skene"}  # 8 labels each is at least L² = 4 for safe/unsafe
    assert state.report["dimensions"]["harm"]["n_units"] == len(items)
    assert Item.objects.filter(campaign=campaign, n_submitted=3).count() == len(items)
