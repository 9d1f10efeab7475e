"""The OpenAI-compatible backend against a real vLLM server on CPU (`make test-vllm`).

A real generation job on a real `gpu` worker (PostgreSQL + Redis) asks vLLM for SmolLM2's
greedy answers to 64 TruthfulQA questions: they are byte-identical to the transformers
backend's (both fp32, the same chat template and special tokens). Then the server is killed in
the middle of a job: the job fails with the cause, the server comes back, the job is started
again and only the missing outputs are requested (the new server's own request counter says
so), with nothing stored twice and nothing missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import transaction

from generation.models import CandidateModel, GenerationJob
from generation.services import generation_job_start
from labeling.models import Campaign, Item
from tests.factories import CampaignFactory, PromptFactory
from tests.integration.vllm_reference import (
    MAX_NEW_TOKENS,
    N_PROMPTS,
    mismatches,
    questions,
    transformers_outputs,
)
from tests.vllm_cpu import SERVED_NAME, VllmServer, available, free_port
from tests.worker import celery_worker, wait_for

pytestmark = [pytest.mark.vllm, pytest.mark.worker]

# Generous: the machine may be shared and loaded (vLLM took 29 s to start when quiet, 225 s
# under heavy load).
JOB_TIMEOUT_S = 1200
REQUESTS = "vllm:request_success_total"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VllmServer]:
    if not available():
        pytest.fail("the vLLM CPU server is not set up: run `make vllm-cpu` (make test-vllm does)")
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    server = VllmServer(free_port(), log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def _campaign() -> Campaign:
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    for text in questions():
        PromptFactory.create(campaign=campaign, text=text)
    return campaign


def _model(server: VllmServer, name: str, **limits: Any) -> CandidateModel:
    return CandidateModel.objects.create(
        name=name,
        backend=CandidateModel.Backend.OPENAI,
        base_url=server.base_url,
        api_model=SERVED_NAME,
        endpoint=CandidateModel.Endpoint.CHAT,
        revision="SmolLM2-135M-Instruct GGUF, converted (tests/vllm_cpu.py)",
        # A loaded CPU server answers 16 concurrent requests slowly; a timeout would retry
        # (and pay for) work the server is still doing.
        timeout_s=600,
        **limits,
    )


def _start(campaign: Campaign, model: CandidateModel) -> GenerationJob:
    with transaction.atomic():
        return generation_job_start(
            campaign=campaign, model=model, params={"max_new_tokens": MAX_NEW_TOKENS}
        )


def _status(job_id: int) -> GenerationJob:
    return GenerationJob.objects.get(pk=job_id)


def _finished(job_id: int) -> GenerationJob | None:
    job = _status(job_id)
    return job if job.status in ("succeeded", "failed", "cancelled") else None


def _outputs(campaign: Campaign, model: CandidateModel) -> dict[str, str]:
    items = Item.objects.filter(campaign=campaign, model=model).select_related("prompt")
    return {item.prompt.text: item.text for item in items}


@pytest.mark.django_db(transaction=True)
def test_a_job_through_vllm_matches_the_transformers_backend_byte_for_byte(
    server: VllmServer, tmp_path: Path
) -> None:
    expected = transformers_outputs()
    campaign = _campaign()
    model = _model(server, "smollm2 via vllm", max_concurrency=16)
    log = tmp_path / "gpu.log"
    with celery_worker(log, queues="gpu"):
        job = _start(campaign, model)
        done = wait_for(lambda: _finished(job.pk), timeout=JOB_TIMEOUT_S, what="the job", log=log)
    assert done.status == "succeeded", done.error
    assert done.done == done.total == N_PROMPTS
    got = _outputs(campaign, model)
    assert len(got) == N_PROMPTS
    assert mismatches(expected, got) == []
    assert got == expected
    item = Item.objects.filter(campaign=campaign, model=model).first()
    assert item is not None
    prov = item.provenance
    assert prov["engine"] == "openai-http" and prov["server_model"] == SERVED_NAME
    assert prov["request"]["temperature"] == 0.0 and prov["request"]["seed"] == 0
    assert item.output_tokens and prov["usage"]["completion_tokens"] == item.output_tokens
    assert prov["finish_reason"] in ("stop", "length") and prov["attempts"] >= 1
    assert len(prov["idempotency_key"]) == 64


@pytest.mark.django_db(transaction=True)
def test_a_job_survives_the_server_being_killed_mid_job(server: VllmServer, tmp_path: Path) -> None:
    expected = transformers_outputs()
    campaign = _campaign()
    # Two at a time, stored two by two, and only two retries: the kill fails the job quickly.
    model = _model(server, "smollm2 via vllm, killed", max_concurrency=2, max_retries=2)
    log = tmp_path / "gpu.log"
    with celery_worker(log, queues="gpu", env={"ASSAY_GENERATION_BATCH_SIZE": "2"}):
        job = _start(campaign, model)
        wait_for(lambda: _status(job.pk).done >= 8, timeout=JOB_TIMEOUT_S, what="8", log=log)
        server.stop()  # SIGKILL, mid-job
        failed = wait_for(lambda: _finished(job.pk), timeout=300, what="the failure", log=log)
        assert failed.status == "failed"
        assert "gave up after 3 attempts" in failed.error
        assert "connection failed" in failed.error, failed.error
        stored_before = Item.objects.filter(campaign=campaign, model=model).count()
        assert 8 <= stored_before < N_PROMPTS

        server.start()  # the same port, so the model's base URL holds
        assert server.metric(REQUESTS) == 0
        again = _start(campaign, model)
        done = wait_for(lambda: _finished(again.pk), timeout=JOB_TIMEOUT_S, what="resume", log=log)
    assert done.pk == job.pk and done.attempts == 2
    assert done.status == "succeeded", done.error
    assert done.done == done.total == N_PROMPTS
    # The restarted job asked the new server for exactly the outputs that were missing.
    assert server.metric(REQUESTS) == N_PROMPTS - stored_before
    items = list(Item.objects.filter(campaign=campaign, model=model).select_related("prompt"))
    assert len(items) == N_PROMPTS
    assert len({(i.prompt_id, i.sample_index) for i in items}) == N_PROMPTS
    assert len({i.provenance["idempotency_key"] for i in items}) == N_PROMPTS
    got = {i.prompt.text: i.text for i in items}
    assert mismatches(expected, got) == []
    assert got == expected
