"""The new settings parsers: strict, with the error naming the variable."""

from __future__ import annotations

from typing import Any

import pytest

from core.env import ConfigError, env_cache, env_proxy_ssl_header, env_rate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, "5/min"), ("", "5/min"), ("10/min", "10/min"), (" 3/HOUR ", "3/hour"), ("off", None)],
)
def test_env_rate(monkeypatch: Any, raw: str | None, expected: str | None) -> None:
    if raw is not None:
        monkeypatch.setenv("RATE", raw)
    assert env_rate("RATE", "5/min") == expected


@pytest.mark.parametrize("raw", ["10/month", "10", "0/min", "-1/min", "ten/min", "10/min/2"])
def test_env_rate_refuses_what_drf_would_misread(monkeypatch: Any, raw: str) -> None:
    monkeypatch.setenv("RATE", raw)
    with pytest.raises(ConfigError, match="RATE="):
        env_rate("RATE", "5/min")


def test_env_cache(monkeypatch: Any) -> None:
    db = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "t",
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
    assert env_cache("CACHE_URL", table="t") == db
    monkeypatch.setenv("CACHE_URL", "db://")
    assert env_cache("CACHE_URL", table="t") == db
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/1")
    assert env_cache("CACHE_URL", table="t") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
    monkeypatch.setenv("CACHE_URL", "memcached://127.0.0.1")
    with pytest.raises(ConfigError, match="CACHE_URL="):
        env_cache("CACHE_URL", table="t")


def test_env_proxy_ssl_header(monkeypatch: Any) -> None:
    assert env_proxy_ssl_header("H") is None
    monkeypatch.setenv("H", "X-Forwarded-Proto: https")
    assert env_proxy_ssl_header("H") == ("HTTP_X_FORWARDED_PROTO", "https")
    for bad in ("X-Forwarded-Proto", "X Forwarded: https", ": https", "X-Forwarded-Proto:"):
        monkeypatch.setenv("H", bad)
        with pytest.raises(ConfigError, match="H="):
            env_proxy_ssl_header("H")
