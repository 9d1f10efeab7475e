"""A real Celery worker process generates a job end to end, is killed halfway, and resumes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction

from generation.models import CandidateModel, GenerationJob
from generation.services import generation_job_start
from labeling.models import Campaign, Item
from tests.factories import CampaignFactory, PromptFactory
from tests.generation.tiny_model import build_tiny_model
from tests.worker import celery_worker, kill, wait_for

N_PROMPTS = 24


def _job_state(job_id: int) -> GenerationJob:
    return GenerationJob.objects.get(pk=job_id)


def run_kill_resume(tmp_path: Path) -> None:
    model_dir = build_tiny_model(tmp_path / "model")
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    for i in range(N_PROMPTS):
        PromptFactory.create(campaign=campaign, text=f"tell me about thing {i}")
    model = CandidateModel.objects.create(name="tiny", backend="transformers", path=str(model_dir))
    log = tmp_path / "worker.log"
    # Lending off: the exact share is checked below (lending depends on the machine's load;
    # tests/test_threads.py and tests/generation/test_transformers_backend.py test it).
    env = {
        "ASSAY_GENERATION_BATCH_SIZE": "1",
        "ASSAY_TORCH_THREADS": "1",
        "ASSAY_LEND_IDLE_CORES": "0",
    }
    with celery_worker(log, env=env) as worker:
        with transaction.atomic():
            job = generation_job_start(
                campaign=campaign, model=model, params={"max_new_tokens": 48, "temperature": 0.8}
            )
        wait_for(lambda: _job_state(job.pk).done >= 3, timeout=120, what="3 items", log=log)
        kill(worker)  # SIGKILL, mid-job: no chance to clean up
    killed = _job_state(job.pk)
    assert killed.status == GenerationJob.Status.RUNNING
    assert 3 <= killed.done < N_PROMPTS, "the job should have been killed halfway"

    with celery_worker(log, env=env):
        # Its heartbeat is recent, so the admin says the worker is gone.
        generation_job_start(campaign=campaign, model=model, params=killed.params, force=True)
        wait_for(
            lambda: _job_state(job.pk).status in ("succeeded", "failed"),
            timeout=180,
            what="the resumed job to finish",
            log=log,
        )
    done = _job_state(job.pk)
    assert done.status == GenerationJob.Status.SUCCEEDED, done.error
    assert (done.done, done.total) == (N_PROMPTS, N_PROMPTS)
    assert done.attempts == 2
    pairs = Counter(Item.objects.filter(job=done).values_list("prompt_id", "sample_index"))
    assert len(pairs) == N_PROMPTS and max(pairs.values()) == 1
    assert set(p for p, _ in pairs) == set(campaign.prompts.values_list("id", flat=True))
    # The worker ran torch with its share of the cores, not one thread per core.
    threads = {i.provenance["torch_threads"] for i in Item.objects.filter(job=done)}
    assert threads == {1}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LABELING


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_generates_killed_job_resumes_without_duplicates(tmp_path: Path) -> None:
    run_kill_resume(tmp_path)
