"""Generation jobs in-process: items with provenance, progress, resume, clear failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generation.models import CandidateModel, GenerationJob
from generation.services import generation_job_run, generation_job_start
from labeling.models import Campaign, Item
from tests.factories import CampaignFactory, PromptFactory
from tests.generation.tiny_model import build_tiny_model

PROVENANCE_KEYS = {
    "model_revision",
    "engine",
    "engine_version",
    "dtype",
    "device",
    "batch_size",
    "decoding",
    "seed",
    "sample_index",
    "prompt_sha256",
    "job_id",
}


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


def _campaign(n_prompts: int) -> Campaign:
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    for i in range(n_prompts):
        PromptFactory.create(
            campaign=campaign,
            text=f"prompt {i} " + "word " * (i % 4),
            split="private" if i % 5 == 4 else "public",
        )
    return campaign


def _start(campaign: Campaign, model: CandidateModel, **params: Any) -> GenerationJob:
    # Enqueueing is on commit; these tests run the service directly instead of a worker.
    return generation_job_start(campaign=campaign, model=model, params=params)


@pytest.mark.django_db
def test_job_writes_every_item_with_provenance(tiny_model_dir: Path, settings: Any) -> None:
    settings.ASSAY_GENERATION_BATCH_SIZE = 3
    campaign = _campaign(7)
    model = CandidateModel.objects.create(
        name="tiny", backend="transformers", path=str(tiny_model_dir)
    )
    job = _start(campaign, model, max_new_tokens=5, samples_per_prompt=2, temperature=0.7)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.GENERATING

    generation_job_run(job.pk)

    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert (job.done, job.total) == (14, 14)
    assert job.device == "cpu" and job.dtype == "float32"
    items = list(Item.objects.filter(job=job))
    assert len(items) == 14
    assert {(i.prompt_id, i.sample_index) for i in items} == {
        (p.pk, s) for p in campaign.prompts.all() for s in (0, 1)
    }
    for item in items:
        assert set(item.provenance) >= PROVENANCE_KEYS
        assert item.provenance["batch_size"] == 3
        assert item.provenance["decoding"]["temperature"] == 0.7
        assert item.output_tokens is not None and 0 < item.output_tokens <= 5
        assert item.finish_reason in {"stop", "length"}
        assert item.open_slots == campaign.overlap
    model.refresh_from_db()
    assert model.revision.startswith("sha256:")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.LABELING


@pytest.mark.django_db
def test_rerun_generates_only_missing_outputs(tiny_model_dir: Path) -> None:
    campaign = _campaign(4)
    model = CandidateModel.objects.create(
        name="tiny", backend="transformers", path=str(tiny_model_dir)
    )
    job = _start(campaign, model, max_new_tokens=3)
    generation_job_run(job.pk)
    first = {i.pk: i.text for i in Item.objects.filter(job=job)}
    # Lose two outputs, as if the worker had died before writing them.
    Item.objects.filter(pk__in=sorted(first)[:2]).delete()
    again = _start(campaign, model, max_new_tokens=3)
    assert again.pk == job.pk
    generation_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED
    assert Item.objects.filter(job=job).count() == 4
    assert set(first) - set(Item.objects.values_list("pk", flat=True)) == set(sorted(first)[:2])


@pytest.mark.django_db
def test_model_that_fails_to_load_fails_the_job(tmp_path: Path) -> None:
    campaign = _campaign(2)
    missing = tmp_path / "no-such-model"
    model = CandidateModel.objects.create(name="broken", backend="transformers", path=str(missing))
    job = _start(campaign, model)
    generation_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED
    assert job.error.startswith("model failed to load")
    assert str(missing) in job.error
    assert not Item.objects.exists()


@pytest.mark.django_db
def test_live_job_is_not_started_twice_without_force(tiny_model_dir: Path) -> None:
    from django.utils import timezone

    from core.errors import DomainError

    campaign = _campaign(2)
    model = CandidateModel.objects.create(
        name="tiny", backend="transformers", path=str(tiny_model_dir)
    )
    job = _start(campaign, model)
    GenerationJob.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=timezone.now(), run_token="other-run"
    )
    with pytest.raises(DomainError) as err:
        _start(campaign, model)
    assert err.value.status_code == 409
    forced = generation_job_start(campaign=campaign, model=model, params={}, force=True)
    assert forced.status == GenerationJob.Status.QUEUED and forced.run_token == ""
