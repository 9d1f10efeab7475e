"""The OpenAI-compatible backend against a real HTTP server (tests/generation/openai_server.py):
requests, retries honoring Retry-After, backoff, timeouts, the concurrency limit, the error
after the last retry, provenance, and an API key that never leaves the environment."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from generation import runner
from generation.backends import DecodingParams
from generation.backends.openai_http import (
    HttpConfig,
    HttpGenerationError,
    OpenAIBackend,
    RateLimiter,
    retry_after_s,
)
from generation.models import CandidateModel, GenerationJob
from generation.services import generation_job_run, generation_job_start
from labeling.models import Campaign, Item, Membership
from tests.factories import CampaignFactory, MembershipFactory, PromptFactory, UserFactory
from tests.generation.openai_server import Behavior, FakeOpenAI, openai_server
from tests.labeling.factories_extra import submitted

KEY = "sk-test-DO-NOT-LEAK-7f3a9c"
PARAMS = DecodingParams(temperature=0.7, top_p=0.9, max_new_tokens=16, seed=100)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("ASSAY_TEST_API_KEY", KEY)
    with openai_server() as state:
        yield state


def _backend(server: FakeOpenAI, **overrides: Any) -> OpenAIBackend:
    config: dict[str, Any] = {
        "base_url": server.url,
        "model": "org/model-7b",
        "api_key_env": "ASSAY_TEST_API_KEY",
        "max_retries": 3,
        "backoff_base_s": 0.05,
        "timeout_s": 5.0,
        "revision": "declared-rev-1",
        **overrides,
    }
    return OpenAIBackend(HttpConfig(**config), batch_size=4)


def _outputs(backend: OpenAIBackend, prompts: list[str], sample_index: int = 0) -> list[Any]:
    return [
        o for batch in backend.generate(prompts, PARAMS, sample_index=sample_index) for o in batch
    ]


def test_chat_requests_one_per_sample_with_seed_plus_index(server: FakeOpenAI) -> None:
    backend = _backend(server)
    outs = _outputs(backend, ["a?", "b?", "c?"], sample_index=2)
    assert [o.prompt_index for o in outs] == [0, 1, 2]
    assert outs[0].text == "reply to a? (seed 102)"
    for req in server.requests:
        assert req.path == "/v1/chat/completions"
        assert req.headers["Authorization"] == f"Bearer {KEY}"
        assert "n" not in req.body and req.body["seed"] == 102
        assert req.body["model"] == "org/model-7b" and req.body["max_tokens"] == 16
    prov = outs[0].provenance
    assert prov["server_model"] == "served/org/model-7b"
    assert prov["system_fingerprint"] == "fp_test_1"
    assert prov["usage"] == {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}
    assert prov["finish_reason"] == "stop" and outs[0].finish_reason == "stop"
    assert prov["request"] == {
        "model": "org/model-7b",
        "max_tokens": 16,
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": 102,
        "stream": False,
    }
    assert prov["model_revision"] == "declared-rev-1" and prov["attempts"] == 1
    assert prov["latency_ms"] > 0 and outs[0].latency_ms == prov["latency_ms"]
    assert (outs[0].prompt_tokens, outs[0].output_tokens) == (7, 4)
    assert KEY not in json.dumps(prov)


def test_completions_endpoint_for_base_models(server: FakeOpenAI) -> None:
    [out] = _outputs(_backend(server, endpoint="completions"), ["Once upon"])
    assert server.requests[0].path == "/v1/completions"
    assert server.requests[0].body["prompt"] == "Once upon"
    assert out.text == " continues Once upon (seed 100)" and out.finish_reason == "length"


def test_429_waits_as_long_as_retry_after_says(server: FakeOpenAI) -> None:
    server.then(Behavior(status=429, retry_after="1"))
    [out] = _outputs(_backend(server), ["x"])
    first, second = server.requests
    assert 1.0 <= second.at - first.at < 2.5
    assert out.provenance["attempts"] == 2


def test_5xx_backs_off_exponentially_with_jitter(server: FakeOpenAI) -> None:
    server.then(Behavior(status=500), Behavior(status=503), Behavior(status=502))
    [out] = _outputs(_backend(server, backoff_base_s=0.2), ["x"])
    times = [r.at for r in server.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Attempt n waits between half and all of base * 2**n.
    assert 0.1 <= gaps[0] < 0.6 and 0.2 <= gaps[1] < 0.8 and 0.4 <= gaps[2] < 1.2
    assert out.provenance["attempts"] == 4


def test_a_slow_answer_times_out_and_is_retried(server: FakeOpenAI) -> None:
    server.then(Behavior(delay_s=1.5))
    [out] = _outputs(_backend(server, timeout_s=0.3), ["x"])
    assert len(server.requests) == 2 and out.provenance["attempts"] == 2


def test_the_last_retry_raises_a_clear_error_without_the_key(server: FakeOpenAI) -> None:
    server.default = Behavior(status=500, echo_auth=True)
    with pytest.raises(HttpGenerationError) as err:
        _outputs(_backend(server, max_retries=2), ["x"])
    message = str(err.value)
    assert "gave up after 3 attempts" in message and "HTTP 500" in message
    assert KEY not in message and "***" in message
    assert len(server.requests) == 3


def test_a_client_error_is_not_retried(server: FakeOpenAI) -> None:
    server.default = Behavior(status=400)
    with pytest.raises(HttpGenerationError, match="answered HTTP 400"):
        _outputs(_backend(server), ["x"])
    assert len(server.requests) == 1


def test_concurrency_limit(server: FakeOpenAI) -> None:
    server.default = Behavior(delay_s=0.2)
    outs = _outputs(_backend(server, max_concurrency=3), [f"p{i}" for i in range(9)])
    assert len(outs) == 9
    assert server.max_in_flight == 3


def test_rate_limiter_keeps_requests_and_tokens_per_window() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(2, 100, window_s=60, clock=lambda: now[0], sleep=sleep)
    limiter.acquire(10)
    limiter.acquire(10)
    limiter.acquire(10)  # a third request waits for the first to leave the window
    assert slept == [60.0] and now[0] == 60.0
    tokens = RateLimiter(None, 100, window_s=60, clock=lambda: now[0], sleep=sleep)
    tokens.acquire(80)
    tokens.acquire(30)  # 110 tokens would exceed the budget
    assert now[0] == 120.0


def test_retry_after_forms() -> None:
    assert retry_after_s("3") == 3.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_s("soon") is None and retry_after_s(None) is None


# --- through jobs and the API ------------------------------------------------------------


def _http_model(server: FakeOpenAI, **fields: Any) -> CandidateModel:
    return CandidateModel.objects.create(
        name="remote",
        backend="openai",
        base_url=server.url,
        api_model="org/model-7b",
        api_key_env="ASSAY_TEST_API_KEY",
        revision="declared-rev-1",
        max_retries=1,
        **fields,
    )


@pytest.fixture
def fresh_backends() -> Iterator[None]:
    runner._loaded.clear()
    yield
    runner._loaded.clear()


@pytest.mark.django_db
def test_job_through_the_server_keeps_provenance_and_never_the_key(
    server: FakeOpenAI, fresh_backends: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    for i in range(5):
        PromptFactory.create(campaign=campaign, text=f"question {i}?")
    model = _http_model(server)
    job = generation_job_start(
        campaign=campaign, model=model, params={"samples_per_prompt": 2, "temperature": 0.5}
    )
    generation_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert (job.done, job.total, job.device) == (10, 10, "remote")
    items = list(Item.objects.filter(job=job))
    assert {i.provenance["seed"] for i in items} == {0, 1}
    assert all(i.provenance["system_fingerprint"] == "fp_test_1" for i in items)
    assert all(i.provenance["idempotency_key"] for i in items)
    model.refresh_from_db()
    assert model.revision == "declared-rev-1"
    # Nowhere: items, the job, the model row, the logs, an export.
    admin = MembershipFactory.create(campaign=campaign, role=Membership.Role.ADMIN).user
    submitted(items[0], admin, {"harm": "safe"})
    api = APIClient()
    api.force_authenticate(admin)
    export = api.get(f"/api/campaigns/{campaign.pk}/export/?as=jsonl&include_private=1")
    assert export.status_code == 200
    exported = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
    assert '"annotation_id"' in exported
    stored = json.dumps([i.provenance for i in items]) + job.error + exported + caplog.text
    stored += json.dumps(api.get(f"/api/models/{model.pk}/").json())
    assert KEY not in stored


@pytest.mark.django_db
def test_job_fails_clearly_after_the_last_retry(server: FakeOpenAI, fresh_backends: None) -> None:
    server.default = Behavior(status=503, retry_after="0", echo_auth=True)
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    PromptFactory.create(campaign=campaign)
    job = generation_job_start(campaign=campaign, model=_http_model(server), params={})
    generation_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED
    assert "gave up after 2 attempts" in job.error and "HTTP 503" in job.error
    assert KEY not in job.error


@pytest.mark.django_db
def test_a_missing_key_variable_fails_before_any_request(
    server: FakeOpenAI, fresh_backends: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSAY_TEST_API_KEY")
    campaign = CampaignFactory.create(status=Campaign.Status.DRAFT)
    PromptFactory.create(campaign=campaign)
    job = generation_job_start(campaign=campaign, model=_http_model(server), params={})
    generation_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "ASSAY_TEST_API_KEY" in job.error
    assert not server.requests


def _staff() -> APIClient:
    api = APIClient()
    api.force_authenticate(UserFactory.create(is_staff=True))
    return api


@pytest.mark.django_db
def test_register_and_test_connection(server: FakeOpenAI) -> None:
    api = _staff()
    body = {
        "name": "remote-7b",
        "backend": "openai",
        "base_url": server.url,
        "api_model": "org/model-7b",
        "api_key_env": "ASSAY_TEST_API_KEY",
        "endpoint": "chat",
        "max_concurrency": 2,
        "requests_per_minute": 60,
        "tokens_per_minute": 10000,
        "timeout_s": 10,
        "max_retries": 2,
        "revision": "2024-06-01",
    }
    r = api.post("/api/models/", body, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["revision"] == "2024-06-01" and r.json()["api_key_env"] == "ASSAY_TEST_API_KEY"
    r = api.post(f"/api/models/{r.json()['id']}/test-connection/")
    assert r.status_code == 200, r.content
    assert r.json()["ok"] is True and r.json()["server_model"] == "served/org/model-7b"
    assert server.requests[-1].body["max_tokens"] == 1
    server.default = Behavior(status=500, echo_auth=True)
    r = api.post(f"/api/models/{CandidateModel.objects.get(name='remote-7b').pk}/test-connection/")
    assert r.json()["ok"] is False and "HTTP 500" in r.json()["detail"]
    assert KEY not in r.content.decode()
    assert len([q for q in server.requests if q.body["max_tokens"] == 1]) == 2  # no retries


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"base_url": "ftp://host/v1"}, "base_url"),
        ({"base_url": "http://user:pw@host/v1"}, "base_url"),
        ({"base_url": ""}, "base_url"),
        ({"api_model": ""}, "api_model"),
        ({"api_key_env": "sk-abc123"}, "api_key_env"),
        ({"endpoint": "embeddings"}, "endpoint"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_register_bad_http_model(change: dict[str, Any], field: str) -> None:
    body = {"name": "bad", "backend": "openai", "base_url": "http://h:8000/v1", "api_model": "m"}
    r = _staff().post("/api/models/", {**body, **change}, format="json")
    assert r.status_code == 400, r.content
    assert any(k.startswith(field) for k in r.json()["errors"]), r.json()
    assert not CandidateModel.objects.filter(name="bad").exists()
