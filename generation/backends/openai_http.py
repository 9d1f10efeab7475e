"""Generation through an OpenAI-compatible HTTP server: `/v1/chat/completions`, or
`/v1/completions` for base models (vLLM, TGI, llama.cpp, Ollama, hosted APIs).

One request per output, seeded `seed + sample_index` (never `n`: servers differ in how they
seed the n choices, which would make samples irreproducible). Requests run on threads up to the
model's concurrency limit, under its requests/min and tokens/min limits, and are retried with
exponential backoff and jitter on 429, 5xx, timeouts and dropped connections, honoring
Retry-After; after the last retry the job fails with the cause. The API key is read from the
environment variable the model names, at request time: it is never stored, logged, exported
or put in an error message (a server echoing it is redacted).
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from generation.backends.base import DecodingParams, GeneratedOutput, ModelLoadError

ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 300.0
_MAX_ERROR_BODY = 300


class HttpGenerationError(Exception):
    """A request failed for good (a non-retryable answer, or the last retry)."""


@dataclass(frozen=True)
class HttpConfig:
    base_url: str
    model: str
    endpoint: str = "chat"
    api_key_env: str = ""
    max_concurrency: int = 4
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    timeout_s: float = 60.0
    max_retries: int = 5
    revision: str = ""
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0

    @property
    def url(self) -> str:
        base = self.base_url.rstrip("/")
        # Accept both http://host:8000 and http://host:8000/v1 as the base.
        return base.removesuffix("/v1") + ENDPOINTS[self.endpoint]

    @property
    def public_url(self) -> str:
        """The URL without credentials or query, for provenance and messages."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RateLimiter:
    """Requests and (estimated) tokens per minute over a sliding window; thread-safe."""

    def __init__(
        self,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rpm, self.tpm, self.window_s = requests_per_minute, tokens_per_minute, window_s
        self.clock, self.sleep = clock, sleep
        self._sent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def acquire(self, tokens: int) -> None:
        if self.rpm is None and self.tpm is None:
            return
        while True:
            with self._lock:
                now = self.clock()
                while self._sent and self._sent[0][0] <= now - self.window_s:
                    self._sent.popleft()
                used = sum(t for _, t in self._sent)
                fits_requests = self.rpm is None or len(self._sent) < self.rpm
                # A request larger than the whole budget still goes, alone in its window.
                fits_tokens = self.tpm is None or not self._sent or used + tokens <= self.tpm
                if fits_requests and fits_tokens:
                    self._sent.append((now, tokens))
                    return
                wait = self._sent[0][0] + self.window_s - now
            self.sleep(max(wait, 0.01))


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class _Answer:
    body: dict[str, Any]
    attempts: int
    latency_ms: float


@dataclass
class OpenAIBackend:
    config: HttpConfig
    batch_size: int = 8
    sleep: Callable[[float], None] = time.sleep
    engine: str = "openai-http"
    engine_version: str = httpx.__version__
    device: str = "remote"
    dtype: str = ""
    revision: str = field(init=False)
    _limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.revision = self.config.revision  # declared by the admin
        self._limiter = RateLimiter(
            self.config.requests_per_minute, self.config.tokens_per_minute, sleep=self.sleep
        )

    @classmethod
    def from_model(cls, model: Any, *, batch_size: int) -> OpenAIBackend:
        return cls(config_from_model(model), batch_size=batch_size)

    # --- requests -----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        name = self.config.api_key_env
        if name:
            key = os.environ.get(name)
            if not key:
                raise ModelLoadError(f"the environment variable {name} (the API key) is not set")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def check_key(self) -> None:
        """Fail before any request when the key's environment variable is missing."""
        self._headers()

    def _redact(self, text: str) -> str:
        key = os.environ.get(self.config.api_key_env) if self.config.api_key_env else None
        return text.replace(key, "***") if key else text

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_S)
        cap = min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)
        return cap / 2 + random.uniform(0, cap / 2)  # jitter, not security

    def post(self, client: httpx.Client, body: dict[str, Any], est_tokens: int) -> _Answer:
        """POST with retries; the answer's JSON body, how many attempts it took, its latency."""
        cfg = self.config
        last = "no attempt"
        for attempt in range(cfg.max_retries + 1):
            self._limiter.acquire(est_tokens)
            started = time.perf_counter()
            retry_after: float | None = None
            try:
                response = client.post(cfg.url, json=body, headers=self._headers())
            except httpx.TimeoutException:
                last = f"timed out after {cfg.timeout_s:g}s"
            except httpx.TransportError as exc:
                last = f"connection failed: {type(exc).__name__}"
            else:
                latency_ms = (time.perf_counter() - started) * 1000
                if response.status_code == 200:
                    return _Answer(self._json(response), attempt + 1, latency_ms)
                last = f"HTTP {response.status_code}: {response.text[:_MAX_ERROR_BODY]}"
                if response.status_code not in RETRY_STATUSES:
                    raise HttpGenerationError(self._redact(f"{cfg.public_url} answered {last}"))
                retry_after = retry_after_s(response.headers.get("retry-after"))
            if attempt < cfg.max_retries:
                self.sleep(self._backoff(attempt, retry_after))
        raise HttpGenerationError(
            self._redact(
                f"{cfg.public_url}: gave up after {cfg.max_retries + 1} attempts; last: {last}"
            )
        )

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise HttpGenerationError(f"{self.config.public_url} answered non-JSON") from exc
        if not isinstance(body, dict) or not body.get("choices"):
            raise HttpGenerationError(f"{self.config.public_url} answered without choices")
        return body

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self.config.timeout_s)

    # --- generation ---------------------------------------------------------------------

    def request_body(
        self, prompt: str, params: DecodingParams, sample_index: int
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed + sample_index,
            "stream": False,
        }
        if self.config.endpoint == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        return body

    def generate(
        self, prompts: list[str], params: DecodingParams, *, sample_index: int
    ) -> Iterator[list[GeneratedOutput]]:
        """Yield outputs batch by batch; a batch's requests run concurrently."""
        size = max(self.batch_size, self.config.max_concurrency)
        with self._client() as client, ThreadPoolExecutor(self.config.max_concurrency) as pool:
            for start in range(0, len(prompts), size):
                indexed = list(enumerate(prompts[start : start + size], start))
                yield list(
                    pool.map(
                        lambda pair: self._one(client, pair[0], pair[1], params, sample_index),
                        indexed,
                    )
                )

    def _one(
        self,
        client: httpx.Client,
        index: int,
        prompt: str,
        params: DecodingParams,
        sample_index: int,
    ) -> GeneratedOutput:
        body = self.request_body(prompt, params, sample_index)
        answer = self.post(client, body, len(prompt) // 4 + params.max_new_tokens)
        choice = answer.body["choices"][0]
        if self.config.endpoint == "chat":
            text = (choice.get("message") or {}).get("content") or ""
        else:
            text = choice.get("text") or ""
        usage = answer.body.get("usage") or {}
        request = {k: v for k, v in body.items() if k not in ("messages", "prompt")}
        return GeneratedOutput(
            prompt_index=index,
            sample_index=sample_index,
            text=text,
            prompt_tokens=_count(usage.get("prompt_tokens")),
            output_tokens=_count(usage.get("completion_tokens")),
            finish_reason=str(choice.get("finish_reason") or ""),
            latency_ms=answer.latency_ms,
            provenance={
                "engine": self.engine,
                "engine_version": self.engine_version,
                "endpoint": ENDPOINTS[self.config.endpoint],
                "base_url": self.config.public_url.removesuffix(ENDPOINTS[self.config.endpoint]),
                "model_revision": self.config.revision,
                "requested_model": self.config.model,
                "server_model": answer.body.get("model"),
                "system_fingerprint": answer.body.get("system_fingerprint"),
                "response_id": answer.body.get("id"),
                "usage": usage,
                "finish_reason": choice.get("finish_reason"),
                "request": request,
                "latency_ms": answer.latency_ms,
                "attempts": answer.attempts,
                "decoding": params.as_dict(),
                "seed": params.seed + sample_index,
                "sample_index": sample_index,
                "chat_template_applied": self.config.endpoint == "chat",
                "prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
            },
        )

    def test_connection(self) -> dict[str, Any]:
        """One tiny request, no retries: ok, or the reason it failed."""
        body = self.request_body("Say OK.", DecodingParams(max_new_tokens=1), 0)
        once = OpenAIBackend(
            HttpConfig(**{**self.config.__dict__, "max_retries": 0}), sleep=self.sleep
        )
        try:
            with once._client() as client:
                answer = once.post(client, body, 8)
        except (HttpGenerationError, ModelLoadError) as exc:
            return {"ok": False, "detail": str(exc), "server_model": None, "latency_ms": None}
        return {
            "ok": True,
            "detail": f"{self.config.public_url} answered",
            "server_model": answer.body.get("model"),
            "latency_ms": answer.latency_ms,
        }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def config_from_model(model: Any) -> HttpConfig:
    return HttpConfig(
        base_url=model.base_url,
        model=model.api_model,
        endpoint=model.endpoint,
        api_key_env=model.api_key_env,
        max_concurrency=model.max_concurrency,
        requests_per_minute=model.requests_per_minute,
        tokens_per_minute=model.tokens_per_minute,
        timeout_s=model.timeout_s,
        max_retries=model.max_retries,
        revision=model.revision,
    )
