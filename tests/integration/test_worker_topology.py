"""`make run`'s topology on PostgreSQL + Redis: a `gpu` worker busy with a long generation job
and a `default` worker that still answers a submit's consensus refit and scores refresh
within seconds (before the split, both waited behind the whole job on one worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import transaction
from rest_framework.test import APIClient

from generation.models import CandidateModel, GenerationJob
from generation.services import generation_job_start
from labeling.models import Campaign, QualityState, ScoreRefresh, ScoreSummary
from tests.factories import (
    CampaignFactory,
    ItemFactory,
    MembershipFactory,
    PromptFactory,
    valid_values,
)
from tests.generation.tiny_model import build_tiny_model
from tests.worker import celery_worker, wait_for

# Enough work that the job outlives the refit (3 s debounce) and the refresh (15 s) many
# times over on any machine: one output per batch, 64 tokens each.
N_PROMPTS = 2000


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def _label_everything(campaign: Campaign, people: list[Any]) -> None:
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


def _job(job_id: int) -> GenerationJob:
    return GenerationJob.objects.get(pk=job_id)


@pytest.mark.django_db(transaction=True)
def test_refit_and_scores_finish_while_a_generation_job_runs(tmp_path: Path, settings: Any) -> None:
    settings.QUALITY_REFIT_DEBOUNCE_S = 3
    generating = CampaignFactory.create(status=Campaign.Status.DRAFT)
    for i in range(N_PROMPTS):
        PromptFactory.create(campaign=generating, text=f"tell me about thing {i}")
    model = CandidateModel.objects.create(
        name="tiny", backend="transformers", path=str(build_tiny_model(tmp_path / "model"))
    )
    labeling = CampaignFactory.create(status=Campaign.Status.LABELING, overlap=3)
    items = [ItemFactory.create(campaign=labeling, prompt__campaign=labeling) for _ in range(8)]
    people = [MembershipFactory.create(campaign=labeling, role="annotator").user for _ in range(3)]
    gpu_log, default_log = tmp_path / "gpu.log", tmp_path / "default.log"
    with (
        celery_worker(gpu_log, queues="gpu", env={"ASSAY_GENERATION_BATCH_SIZE": "1"}),
        celery_worker(default_log, queues="default", purge=False),
    ):
        with transaction.atomic():
            job = generation_job_start(
                campaign=generating, model=model, params={"max_new_tokens": 64}
            )
        wait_for(lambda: _job(job.pk).done >= 2, timeout=120, what="generation", log=gpu_log)

        _label_everything(labeling, people)
        state = wait_for(
            lambda: QualityState.objects.filter(
                campaign=labeling, report_at__isnull=False, refit_scheduled=False
            ).first(),
            timeout=90,
            what="the refit on the default worker",
            log=default_log,
        )
        refresh = wait_for(
            lambda: ScoreRefresh.objects.filter(
                campaign=labeling, refreshed_at__isnull=False, pending=False
            ).first(),
            timeout=90,
            what="the scores refresh on the default worker",
            log=default_log,
        )
        during = _job(job.pk)
        # The job was still generating when both analytics tasks had finished.
        assert during.status == GenerationJob.Status.RUNNING, during.error
        assert during.done < during.total == N_PROMPTS
        assert state.report_at is not None and refresh.refreshed_at is not None
        assert state.report_at < refresh.refreshed_at
        assert ScoreSummary.objects.filter(campaign=labeling, dimension="harm").exists()
        assert state.report["dimensions"]["harm"]["n_units"] == len(items)
        # The gpu worker kept going meanwhile.
        wait_for(
            lambda: _job(job.pk).done > during.done,
            timeout=60,
            what="more generation",
            log=gpu_log,
        )
    # Each queue ran on its own worker. Both workers list every task in their start-up banner,
    # so what counts is a task being received ("Task <name>[<id>] received").
    gpu_text, default_text = gpu_log.read_text(), default_log.read_text()
    assert "Task labeling.refit_consensus[" in default_text
    assert "Task labeling.refresh_scores[" in default_text
    assert "Task labeling.refit_consensus[" not in gpu_text
    assert "Task labeling.refresh_scores[" not in gpu_text
    assert "Task generation." in gpu_text and "Task generation." not in default_text
