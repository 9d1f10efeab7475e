"""Strict parsing of settings from the environment."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    pass


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def local_secret_key() -> str:
    """A per-machine key kept outside the repository, created on first use."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = config_home / "assay" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        # Atomic: concurrent first starts (web and worker) agree on one key.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


# DRF's parser reads only the first letter of the period ("10/month" would mean per minute), so
# rates are checked here, at start-up, against the words it understands.
_RATE = re.compile(r"^(\d+)/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str | None) -> str | None:
    """A throttle rate such as "10/min" or "100/day"; "off" turns the throttle off (None)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"off", "none"}:
        return None
    if not _RATE.match(value) or int(value.split("/")[0]) < 1:
        raise ConfigError(f"{name}={raw!r} is not a rate (use e.g. 10/min, 100/hour, or off)")
    return value


def env_cache(name: str, *, table: str) -> dict[str, Any]:
    """The shared cache from a URL: empty or db:// is the database cache (`table`), redis:// or
    rediss:// Redis, locmem:// a per-process memory cache (one web process only)."""
    raw = os.environ.get(name, "").strip()
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else raw.lower()
    # Django culls these two at 300 entries, and the throttles' counters would be culled with
    # the rest: a guesser with many addresses could flush them. Redis evicts by its own policy.
    room = {"OPTIONS": {"MAX_ENTRIES": 20_000}}
    if scheme in {"", "db"}:
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table, **room}
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", **room}
    raise ConfigError(f"{name}={raw!r}: use db://, redis://host:port/db, rediss://... or locmem://")


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER as "Header-Name: value" (e.g. "X-Forwarded-Proto: https")."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, sep, value = raw.partition(":")
    header, value = header.strip(), value.strip()
    if not sep or not value or not re.fullmatch(r"[A-Za-z0-9-]+", header):
        raise ConfigError(f"{name}={raw!r} is not 'Header-Name: value' (X-Forwarded-Proto: https)")
    return "HTTP_" + header.upper().replace("-", "_"), value
