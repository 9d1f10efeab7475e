"""A database error that means "not now" (connection lost, server restarting) answers 503 in
the API's error shape; the PostgreSQL restart itself is tests/integration/test_database_restart."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from tests.factories import UserFactory


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_lost_database_answers_503_in_the_error_shape(client_as: Any, error: type) -> None:
    api = client_as(UserFactory.create())
    with mock.patch("assay.views.MeSerializer", side_effect=error("server closed the connection")):
        r = api.get("/api/me/")
    assert r.status_code == 503
    assert r.json() == {"detail": mock.ANY, "code": "database_unavailable"}
    assert r["Retry-After"] == "5"
    assert api.get("/api/me/").status_code == 200


@pytest.mark.django_db
def test_other_errors_stay_500(client_as: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory.create())
    with mock.patch("assay.views.MeSerializer", side_effect=ValueError("a bug")):
        assert client.get("/api/me/").status_code == 500


@pytest.mark.django_db
def test_pages_outside_the_api_get_a_plain_503() -> None:
    client = Client()
    client.force_login(UserFactory.create())
    with mock.patch("assay.views.SPA_INDEX") as index:
        index.exists.side_effect = OperationalError("connection refused")
        r = client.get("/campaigns/1")
    assert r.status_code == 503
    assert r["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_a_nul_in_a_query_parameter_answers_400(client_as: Any) -> None:
    api = client_as(UserFactory.create())
    r = api.get("/api/leaderboard/", {"category": "a\x00b"})
    assert r.status_code == 400
    assert r.json()["errors"] == {"category": ["contains a NUL character (U+0000)"]}
    assert api.get("/api/leaderboard/", {"category": "ab"}).status_code == 200
