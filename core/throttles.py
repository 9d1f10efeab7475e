"""Sign-in throttles: failed sign-ins per client address and per username, in the shared cache.

Both doors, `POST /api/auth/token/` and the `/accounts/login/` form, ask before they check a
password (the hash is what made 16 guessing clients slow the whole site down) and count the
attempt when the password is wrong, so the two doors share one budget per address and per
username. Only failures count: someone who signs in often never locks themselves out, and a
guesser fails every time. The counters live in the `default` cache, which every web worker
shares (the database cache, or Redis with CACHE_URL). Like DRF's own throttles they read and
write without a lock: failures in flight at the same moment may be counted once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class FailedSignInThrottle(SimpleRateThrottle):
    """A DRF throttle that counts failures only: `allow_request` reads, `failed` writes."""

    # Set by SimpleRateThrottle.__init__ from the rate; the stubs leave them out.
    num_requests: int
    duration: int

    def get_rate(self) -> str | None:
        # Looked up per request (DRF binds the rates at import), so a settings change applies.
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        return rates.get(self.scope or "")

    def ident(self, request: Any) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        ident = self.ident(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}

    def _recent(self, key: str) -> list[float]:
        """Failure times inside the window, newest first."""
        self.now = self.timer()
        return [t for t in self.cache.get(key, []) if t > self.now - self.duration]

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.history = self._recent(self.key)
        return len(self.history) < self.num_requests

    def wait(self) -> float | None:
        """Seconds until enough failures leave the window for one more attempt."""
        if len(self.history) < self.num_requests:
            return None
        return max(0.0, self.history[self.num_requests - 1] + self.duration - self.now)

    def failed(self, request: Any) -> None:
        if self.rate is None:
            return
        key = self.get_cache_key(request, None)
        if key is None:
            return
        history = self._recent(key)
        history.insert(0, self.now)
        # Only the newest `num_requests` failures decide a wait: the entry stays small.
        self.cache.set(key, history[: self.num_requests], self.duration)


class SignInAddressThrottle(FailedSignInThrottle):
    """Per client address: REMOTE_ADDR, or X-Forwarded-For only as far as NUM_PROXIES trusts."""

    scope = "signin_address"

    def ident(self, request: Any) -> str | None:
        return self.get_ident(request) or None


class SignInUsernameThrottle(FailedSignInThrottle):
    """Per username, from any address: guesses spread over many clients still add up."""

    scope = "signin_username"

    def ident(self, request: Any) -> str | None:
        username = submitted_username(request)
        if not username:
            return None
        # Hashed: a username may be long or hold characters a cache key must not.
        return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


SIGN_IN_THROTTLES: list[type[FailedSignInThrottle]] = [
    SignInAddressThrottle,
    SignInUsernameThrottle,
]


def submitted_username(request: Any) -> str:
    """The username a sign-in request names: DRF's parsed body, or a Django form's POST."""
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    if not isinstance(data, Mapping):
        return ""
    value = data.get("username")
    return value.strip() if isinstance(value, str) else ""


def signin_wait(request: Any) -> float | None:
    """Seconds the caller must wait before the next sign-in attempt, or None to go ahead."""
    waits = []
    for throttle_class in SIGN_IN_THROTTLES:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait() or 0.0)
    return max(waits) if waits else None


def signin_failed(request: Any) -> None:
    """Count a wrong password against the caller's address and the username it tried."""
    for throttle_class in SIGN_IN_THROTTLES:
        throttle_class().failed(request)
