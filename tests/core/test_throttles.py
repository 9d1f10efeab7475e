"""Failed sign-ins are throttled per client address and per username, on both sign-in doors
(the token endpoint and the login form), in the shared cache; ordinary API use never is."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests.labeling.factories_extra import FAST_HASHERS, make_user

TOKEN = "/api/auth/token/"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _rates(settings: Any, db: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"signin_address": "5/min", "signin_username": "3/hour"},
    }


def _token(username: str, password: str, addr: str = "10.0.0.1", **extra: Any) -> Any:
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, REMOTE_ADDR=addr, **extra
    )


def _login(username: str, password: str, addr: str = "10.0.0.1") -> Any:
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=addr)


def test_the_cache_is_the_shared_database_cache() -> None:
    from django.conf import settings

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    cache.set("probe", 1)  # the table exists: migrate made it
    assert cache.get("probe") == 1


def test_token_endpoint_refuses_the_attempt_after_n_failures_per_username() -> None:
    user = make_user(username="alice")
    for i in range(3):  # from three addresses: under the per-address limit each
        assert _token("alice", "wrong", addr=f"10.0.1.{i}").status_code == 400
    r = _token("alice", "pw", addr="10.0.1.9")  # even the right password: not checked
    assert r.status_code == 429, r.content
    assert 3500 <= int(r["Retry-After"]) <= 3600
    assert r.json()["code"] == "throttled"
    # Another username is not affected, nor is a token already issued.
    make_user(username="bob")
    assert _token("bob", "pw", addr="10.0.1.9").status_code == 200
    assert user.pk


def test_token_endpoint_refuses_the_attempt_after_n_failures_per_address() -> None:
    for i in range(5):
        assert _token(f"nobody{i}", "wrong", addr="10.0.2.1").status_code == 400
    r = _token("nobody9", "wrong", addr="10.0.2.1")
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= 60
    make_user(username="carol")
    assert _token("carol", "pw", addr="10.0.2.1").status_code == 429  # the address waits
    assert _token("carol", "pw", addr="10.0.2.2").status_code == 200  # another one does not


def test_a_forged_forwarded_for_header_does_not_make_a_new_address() -> None:
    for i in range(5):
        _token(f"x{i}", "wrong", addr="10.0.3.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    r = _token("x9", "wrong", addr="10.0.3.1", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert r.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for i in range(5):
        _token(f"x{i}", "wrong", addr="10.0.4.1", HTTP_X_FORWARDED_FOR="192.0.2.1")
    same, other = ("192.0.2.1", 429), ("192.0.2.2", 400)
    for forwarded, expected in (same, other):
        r = _token("x", "wrong", addr="10.0.4.1", HTTP_X_FORWARDED_FOR=forwarded)
        assert r.status_code == expected


def test_successful_sign_ins_and_bad_input_do_not_count() -> None:
    make_user(username="dave")
    for _ in range(8):
        assert _token("dave", "pw").status_code == 200
    for _ in range(8):
        r = APIClient().post(TOKEN, {"username": "dave"}, REMOTE_ADDR="10.0.0.1")
        assert r.status_code == 400
    assert _token("dave", "pw").status_code == 200


def test_ordinary_api_use_is_not_throttled() -> None:
    user = make_user(username="erin")
    token = _token("erin", "pw").json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for _ in range(12):  # well past both limits
        assert api.get("/api/me/", REMOTE_ADDR="10.0.0.1").status_code == 200
    session = APIClient()
    session.force_login(user)
    for _ in range(12):
        assert session.get("/api/campaigns/", REMOTE_ADDR="10.0.0.1").status_code == 200


def test_login_form_answers_429_with_retry_after_after_n_failures() -> None:
    make_user(username="frank")
    for i in range(3):
        r = _login("frank", "wrong", addr=f"10.0.5.{i}")
        assert r.status_code == 200 and b"didn't match" in r.content
    r = _login("frank", "pw", addr="10.0.5.9")
    assert r.status_code == 429
    assert int(r["Retry-After"]) > 0
    assert b"Too many failed sign-ins" in r.content
    assert b'value="frank"' in r.content  # the form comes back filled in, no password checked
    assert "_auth_user_id" not in r.wsgi_request.session
    make_user(username="grace")
    assert _login("grace", "pw", addr="10.0.5.9").status_code == 302  # another username


def test_login_form_per_address_and_a_get_is_never_refused() -> None:
    for i in range(5):
        assert _login(f"nobody{i}", "wrong", addr="10.0.6.1").status_code == 200
    assert _login("nobody", "wrong", addr="10.0.6.1").status_code == 429
    assert Client().get(LOGIN, REMOTE_ADDR="10.0.6.1").status_code == 200
    assert _login("nobody", "wrong", addr="10.0.6.2").status_code == 200


def test_both_doors_share_one_budget() -> None:
    make_user(username="heidi")
    _token("heidi", "wrong", addr="10.0.7.1")
    _login("heidi", "wrong", addr="10.0.7.2")
    _token("heidi", "wrong", addr="10.0.7.3")
    assert _login("heidi", "pw", addr="10.0.7.4").status_code == 429
    assert _token("heidi", "pw", addr="10.0.7.4").status_code == 429


def test_a_rate_of_off_turns_a_throttle_off(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"signin_address": None, "signin_username": None},
    }
    for _ in range(8):
        assert _token("ivan", "wrong").status_code == 400


def test_the_wait_ends_when_the_oldest_failure_leaves_the_window(monkeypatch: Any) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    clock = [1000.0]
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: clock[0])
    make_user(username="judy")
    for step in range(3):
        clock[0] = 1000.0 + step * 100
        _token("judy", "wrong", addr=f"10.0.8.{step}")
    clock[0] = 1300.0
    r = _token("judy", "pw", addr="10.0.8.9")
    assert r.status_code == 429 and r["Retry-After"] == "3300"  # 1000 + 3600 - 1300
    clock[0] = 4601.0  # the first failure has left the hour
    assert _token("judy", "pw", addr="10.0.8.9").status_code == 200
