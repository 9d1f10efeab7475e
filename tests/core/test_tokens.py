"""API tokens: rotated when the password changes (any door), revoked by staff; anonymous API
calls answer 401 with WWW-Authenticate while the browser's session + CSRF flow is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.labeling.factories_extra import FAST_HASHERS, make_user


@pytest.fixture(autouse=True)
def _fast(settings: Any, db: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _token_of(user: Any, password: str = "pw") -> str:
    r = APIClient().post("/api/auth/token/", {"username": user.username, "password": password})
    assert r.status_code == 200, r.content
    key: str = r.json()["token"]
    return key


def _me(key: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    status: int = api.get("/api/me/").status_code
    return status


def test_set_password_and_save_rotates_the_token() -> None:
    user = make_user()
    old = _token_of(user)
    assert _me(old) == 200
    user.set_password("a-new-password")
    user.save()
    assert _me(old) == 401
    new = _token_of(user, "a-new-password")
    assert new != old and _me(new) == 200


def test_an_unrelated_save_keeps_the_token() -> None:
    user = make_user()
    key = _token_of(user)
    user.first_name = "Renamed"
    user.save()
    assert _me(key) == 200


def test_a_password_change_in_the_django_admin_rotates_the_token() -> None:
    user = make_user()
    key = _token_of(user)
    root = make_user(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(root)
    r = browser.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": "admin-set-1", "password2": "admin-set-1", "usable_password": "true"},
    )
    assert r.status_code == 302, r.content
    assert _me(key) == 401
    assert not Token.objects.filter(user=user).exists()


def test_a_hash_upgrade_at_sign_in_is_not_a_password_change() -> None:
    user = make_user()
    key = _token_of(user)
    # A short salt makes the MD5 hasher ask for an upgrade the next time the password is checked.
    type(user).objects.filter(pk=user.pk).update(password=make_password("pw", salt="ab"))
    assert _token_of(user) == key
    user.refresh_from_db()
    assert "$ab$" not in user.password  # upgraded
    assert _me(key) == 200


def test_staff_revoke_a_users_token() -> None:
    user = make_user()
    key = _token_of(user)
    staff = APIClient()
    staff.force_authenticate(make_user(is_staff=True))
    r = staff.delete(f"/api/users/{user.pk}/tokens/")
    assert r.status_code == 204
    assert _me(key) == 401
    assert staff.delete(f"/api/users/{user.pk}/tokens/").status_code == 204  # none left: fine
    assert staff.delete("/api/users/999999/tokens/").status_code == 404
    assert _token_of(user) != key  # signing in again issues a new key


def test_a_user_cannot_revoke_another_users_token() -> None:
    user, other = make_user(), make_user()
    key = _token_of(other)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {_token_of(user)}")
    assert api.delete(f"/api/users/{other.pk}/tokens/").status_code == 403
    assert _me(key) == 200


@pytest.mark.parametrize("header", [None, "Token not-a-key", "Token "])
def test_anonymous_or_bad_token_api_calls_get_401_with_www_authenticate(header: str | None) -> None:
    api = APIClient()
    if header is not None:
        api.credentials(HTTP_AUTHORIZATION=header)
    r = api.get("/api/campaigns/")
    assert r.status_code == 401, r.content
    assert r["WWW-Authenticate"] == "Token"
    assert r.json()["code"] in ("not_authenticated", "authentication_failed")


def test_the_browser_session_still_needs_its_csrf_token() -> None:
    user = make_user(is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/api/me/").status_code == 200
    body = {"name": "From the browser"}
    r = browser.post("/api/campaigns/", body, content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    csrf = browser.get("/").cookies.get("csrftoken") or browser.cookies["csrftoken"]
    r = browser.post(
        "/api/campaigns/", body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf.value
    )
    assert r.status_code == 201, r.content


def test_a_token_client_needs_no_csrf_token() -> None:
    user = make_user(is_staff=True)
    api = APIClient(enforce_csrf_checks=True)
    api.credentials(HTTP_AUTHORIZATION=f"Token {_token_of(user)}")
    assert api.post("/api/campaigns/", {"name": "From a script"}, format="json").status_code == 201
