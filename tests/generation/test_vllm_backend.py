"""The `vllm` backend without vLLM installed (the project's own venv): what can be checked here.

Generation itself, real SamplingParams and byte-identity with the transformers backend are
tested on vLLM's CPU build in tests/integration/test_vllm_offline.py (`make test-vllm`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from generation.backends import ModelLoadError, load_backend
from generation.backends.base import DecodingParams
from generation.backends.vllm_backend import sampling_kwargs
from generation.models import CandidateModel, GenerationJob
from generation.services import generation_job_run, generation_job_start
from labeling.models import Campaign, Item
from tests.factories import CampaignFactory, PromptFactory, UserFactory
from tests.generation.tiny_model import build_tiny_model

VLLM_INSTALLED = importlib.util.find_spec("vllm") is not None


def test_greedy_pins_every_knob_and_seeds_by_sample() -> None:
    kwargs = sampling_kwargs(DecodingParams(max_new_tokens=12, seed=5, top_p=0.5), 3)
    assert kwargs == {
        "n": 1,
        "temperature": 0.0,
        "top_p": 1.0,  # greedy: nucleus off whatever was asked
        "top_k": 0,
        "min_p": 0.0,
        "repetition_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "max_tokens": 12,
        "seed": 8,
        "skip_special_tokens": True,
    }


def test_sampling_keeps_temperature_and_top_p() -> None:
    kwargs = sampling_kwargs(DecodingParams(temperature=0.7, top_p=0.9, seed=0), 0)
    assert (kwargs["temperature"], kwargs["top_p"], kwargs["seed"]) == (0.7, 0.9, 0)
    assert sampling_kwargs(DecodingParams(temperature=0.7, seed=0), 4)["seed"] == 4


def test_a_folder_without_config_is_a_clear_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"folder has no config\.json"):
        load_backend("vllm", str(tmp_path), batch_size=4)


@pytest.mark.skipif(VLLM_INSTALLED, reason="vllm is installed here")
def test_without_vllm_installed_the_error_says_how_to_get_it(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "tiny")
    with pytest.raises(ModelLoadError, match=r"pip install \.\[vllm\]"):
        load_backend("vllm", str(folder), batch_size=4)


@pytest.mark.skipif(VLLM_INSTALLED, reason="vllm is installed here")
@pytest.mark.django_db
def test_a_vllm_job_on_a_worker_without_vllm_fails_with_the_cause(tmp_path: Path) -> None:
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    PromptFactory.create(campaign=campaign)
    model = CandidateModel.objects.create(
        name="tiny on vllm", backend="vllm", path=str(build_tiny_model(tmp_path / "tiny"))
    )
    job = generation_job_start(campaign=campaign, model=model, params={"max_new_tokens": 4})
    generation_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED
    assert "pip install .[vllm]" in job.error
    assert not Item.objects.filter(campaign=campaign).exists()


@pytest.mark.django_db
def test_bad_engine_args_fail_the_job_not_the_worker(tmp_path: Path, settings: Any) -> None:
    settings.ASSAY_VLLM_ENGINE_ARGS = "[1, 2"
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    PromptFactory.create(campaign=campaign)
    model = CandidateModel.objects.create(
        name="tiny on vllm", backend="vllm", path=str(build_tiny_model(tmp_path / "tiny"))
    )
    job = generation_job_start(campaign=campaign, model=model, params={"max_new_tokens": 4})
    generation_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED
    assert "ASSAY_VLLM_ENGINE_ARGS is not JSON" in job.error


@pytest.mark.django_db
def test_staff_register_a_vllm_model_with_a_path_and_no_declared_revision(client_as: Any) -> None:
    api = client_as(UserFactory.create(is_staff=True))
    missing = api.post("/api/models/", {"name": "v", "backend": "vllm"}, format="json")
    assert missing.status_code == 400
    assert "path" in missing.json()["errors"] or "path" in str(missing.json())
    body = {"name": "v", "backend": "vllm", "path": "/srv/m", "revision": "whatever"}
    created = api.post("/api/models/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["backend"] == "vllm" and created.json()["revision"] == ""
