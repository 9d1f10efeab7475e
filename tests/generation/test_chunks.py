"""Jobs in chunks: the plan, aggregated progress, claims, idempotent outputs, cancel, failure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from rest_framework.test import APIClient

from generation import runner
from generation.backends import DecodingParams
from generation.models import CandidateModel, GenerationChunk, GenerationJob
from generation.runner import generation_chunk_run
from generation.serializers import GenerationJobSerializer
from generation.services import (
    generation_job_cancel,
    generation_job_plan,
    generation_job_start,
    output_key,
)
from labeling.models import Campaign, Item, Membership
from tests.factories import CampaignFactory, MembershipFactory, PromptFactory
from tests.generation.fake_backend import FakeBackend

N_PROMPTS, SAMPLES, CHUNK = 10, 2, 4


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeBackend]:
    settings.ASSAY_GENERATION_CHUNK_SIZE = CHUNK
    backend = FakeBackend()
    with mock.patch.object(runner, "_load_backend_for", return_value=backend):
        runner._loaded.clear()
        yield backend
    runner._loaded.clear()


@pytest.fixture
def job(db: Any) -> GenerationJob:
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    for i in range(N_PROMPTS):
        PromptFactory.create(campaign=campaign, text=f"prompt {i}")
    model = CandidateModel.objects.create(name="fake", backend="transformers", path="/fake")
    return generation_job_start(
        campaign=campaign, model=model, params={"samples_per_prompt": SAMPLES, "temperature": 1}
    )


def _fresh(job: GenerationJob) -> GenerationJob:
    return GenerationJob.objects.get(pk=job.pk)


def test_plan_splits_missing_outputs_into_chunk_tasks(
    job: GenerationJob, fake: FakeBackend, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.ASSAY_GENERATION_CHUNKS_IN_FLIGHT = 2
    with (
        mock.patch("generation.tasks.run_generation_chunk.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        ids = generation_job_plan(job.pk)
    # Only the first chunks go to the broker; the rest follow as chunks finish.
    assert [c.args[0] for c in delay.call_args_list] == ids[:2]
    chunks = list(job.chunks.order_by("index"))
    assert [c.total for c in chunks] == [4, 4, 4, 4, 4]
    pairs = [tuple(p) for c in chunks for p in c.pairs]
    assert len(pairs) == len(set(pairs)) == N_PROMPTS * SAMPLES
    fresh = _fresh(job)
    assert (fresh.status, fresh.total, fresh.done, fresh.chunks_total) == ("running", 20, 0, 5)
    # A second delivery of the planning task finds the job running: nothing new.
    assert generation_job_plan(job.pk) == []
    assert job.chunks.count() == 5


def test_each_finished_chunk_sends_the_next_so_other_tasks_run_between(
    job: GenerationJob, fake: FakeBackend, settings: Any
) -> None:
    settings.ASSAY_GENERATION_CHUNKS_IN_FLIGHT = 1
    sent: list[int] = []
    # What would go to the broker once the writes commit.
    with mock.patch("generation.services._enqueue_chunks", side_effect=sent.extend):
        ids = generation_job_plan(job.pk)
        assert sent == ids[:1]
        # The worker runs what the broker holds, one message at a time, as a broker would
        # deliver them; anything queued meanwhile would come before the next chunk.
        while len(sent) < len(ids) or any(
            GenerationChunk.objects.get(pk=i).status == "queued" for i in sent
        ):
            generation_chunk_run(sent[-1])
    assert sent == ids  # each chunk sent once, in order, one at a time
    assert _fresh(job).status == "succeeded"
    assert not GenerationChunk.objects.filter(job=job, enqueued_at__isnull=True).exists()


def test_progress_and_eta_aggregate_over_chunks(job: GenerationJob, fake: FakeBackend) -> None:
    ids = generation_job_plan(job.pk, enqueue=False)
    # Out of order, as several workers would take them.
    generation_chunk_run(ids[3])
    generation_chunk_run(ids[0])
    mid = _fresh(job)
    assert (mid.status, mid.done, mid.chunks_done) == ("running", 8, 2)
    assert mid.items_per_s and mid.tokens_per_s
    eta = GenerationJobSerializer(mid).data["eta_s"]
    assert eta == pytest.approx(12 / mid.items_per_s)
    for chunk_id in ids:
        generation_chunk_run(chunk_id)  # the two finished ones are not run again
    done = _fresh(job)
    assert (done.status, done.done, done.total, done.chunks_done) == ("succeeded", 20, 20, 5)
    assert GenerationJobSerializer(done).data["eta_s"] is None
    assert Counter(fake.asked).most_common(1)[0][1] == 1  # no output asked for twice
    assert Campaign.objects.get(pk=job.campaign_id).status == Campaign.Status.LABELING


def test_a_live_chunk_is_not_run_by_a_second_worker(job: GenerationJob, fake: FakeBackend) -> None:
    [first, *_] = generation_job_plan(job.pk, enqueue=False)
    seen: list[int] = []

    def second_worker(batch: int) -> None:
        if batch == 0:
            before = len(fake.asked)
            generation_chunk_run(first)  # a duplicate delivery while the first run holds it
            seen.append(len(fake.asked) - before)

    fake.after_batch = second_worker
    generation_chunk_run(first)
    assert seen == [0]
    assert GenerationChunk.objects.get(pk=first).status == "succeeded"


def test_outputs_stored_by_another_run_are_never_generated_again(
    job: GenerationJob, fake: FakeBackend
) -> None:
    ids = generation_job_plan(job.pk, enqueue=False)
    chunk = GenerationChunk.objects.get(pk=ids[0])
    generation_chunk_run(ids[1])
    # Another run (a worker killed after writing) stored half of chunk 0 already.
    other = FakeBackend()
    with mock.patch.object(runner, "_load_backend_for", return_value=other):
        runner._loaded.clear()
        GenerationChunk.objects.filter(pk=ids[0]).update(pairs=chunk.pairs[:2], total=2)
        generation_chunk_run(ids[0])
    runner._loaded.clear()
    GenerationChunk.objects.filter(pk=ids[0]).update(
        pairs=chunk.pairs, total=4, status="queued", done=0
    )
    fake.asked.clear()
    generation_chunk_run(ids[0])
    assert len(fake.asked) == 2  # only the two missing ones
    item = Item.objects.filter(job=job).first()
    assert item is not None
    key = output_key(
        model=job.model,
        prompt_text=item.prompt.text,
        params=DecodingParams(**job.params),
        sample_index=item.sample_index,
    )
    assert item.provenance["idempotency_key"] == key
    keys = list(Item.objects.filter(job=job).values_list("provenance__idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 8  # chunks 0 and 1


def test_cancel_stops_running_chunks_at_the_next_batch(
    job: GenerationJob, fake: FakeBackend
) -> None:
    ids = generation_job_plan(job.pk, enqueue=False)

    def cancel_during_the_second_batch(batch: int) -> None:
        if batch == 0:
            generation_job_cancel(job=job)

    fake.after_batch = cancel_during_the_second_batch
    generation_chunk_run(ids[0])
    # Cancelled while its second batch ran: that batch is kept, the chunk's rest never runs.
    assert Item.objects.filter(job=job).count() == 4
    assert len(fake.asked) == 4
    for chunk_id in ids[1:]:
        generation_chunk_run(chunk_id)
    cancelled = _fresh(job)
    assert cancelled.status == "cancelled" and cancelled.done == 4
    assert set(job.chunks.values_list("status", flat=True)) == {"cancelled"}
    assert Item.objects.filter(job=job).count() == 4
    # What was stored can be labeled; a restart generates only the rest.
    assert Campaign.objects.get(pk=job.campaign_id).status == Campaign.Status.LABELING
    fake.after_batch = None
    generation_job_start(campaign=job.campaign, model=job.model, params=job.params)
    for chunk_id in generation_job_plan(job.pk, enqueue=False):
        generation_chunk_run(chunk_id)
    assert _fresh(job).status == "succeeded"
    assert Item.objects.filter(job=job).count() == N_PROMPTS * SAMPLES


def test_a_failing_chunk_fails_the_job_and_stops_the_others(
    job: GenerationJob, fake: FakeBackend
) -> None:
    ids = generation_job_plan(job.pk, enqueue=False)
    fake.fail_on_batch = 1
    generation_chunk_run(ids[0])
    failed = _fresh(job)
    assert failed.status == "failed"
    assert failed.error == "RuntimeError: the device fell over"
    fake.fail_on_batch = None
    generation_chunk_run(ids[1])
    assert Item.objects.filter(job=job).count() == 2
    assert GenerationChunk.objects.get(pk=ids[0]).status == "failed"
    assert set(job.chunks.exclude(pk=ids[0]).values_list("status", flat=True)) == {"cancelled"}


def test_cancel_api(job: GenerationJob, fake: FakeBackend) -> None:
    admin = MembershipFactory.create(campaign=job.campaign, role=Membership.Role.ADMIN).user
    viewer = MembershipFactory.create(campaign=job.campaign, role=Membership.Role.VIEWER).user
    api = APIClient()
    api.force_authenticate(viewer)
    assert api.post(f"/api/jobs/{job.pk}/cancel/").status_code == 403
    api.force_authenticate(admin)
    r = api.post(f"/api/jobs/{job.pk}/cancel/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"
    assert api.post(f"/api/jobs/{job.pk}/cancel/").status_code == 200  # idempotent
    assert generation_job_plan(job.pk) == []  # the queued planning task finds it cancelled
    GenerationJob.objects.filter(pk=job.pk).update(status="succeeded")
    r = api.post(f"/api/jobs/{job.pk}/cancel/")
    assert r.status_code == 409 and r.json()["code"] == "job_finished"
    assert api.post("/api/jobs/999999/cancel/").status_code == 404
