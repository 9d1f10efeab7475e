"""Shared API pieces (core/api.py) and the errors Django answers itself under /api/
(assay/views.py): ids past the database's integer range are not found, limits and offsets past
it are a 400, and a missing route or an uncaught exception answers JSON, not HTML."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import URLPattern

from assay.views import server_error
from core.api import MAX_INT64
from labeling.models import Membership
from tests.factories import ItemFactory, UserFactory
from tests.labeling.factories_extra import FAST_HASHERS, make_campaign, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _routes_with_ids() -> list[str]:
    from assay.urls import api

    return [str(p.pattern) for p in api if isinstance(p, URLPattern) and "<int:" in str(p.pattern)]


def _fill(route: str, ids: dict[str, int], default: int) -> str:
    return re.sub(r"<int:(\w+)>", lambda m: str(ids.get(m[1], default)), route)


@pytest.mark.parametrize("big", [MAX_INT64 + 1, 2**64, 10**30])
def test_an_id_past_the_integer_range_is_not_found_on_every_route(api: Any, big: int) -> None:
    api.raise_request_exception = False
    api.force_authenticate(UserFactory.create(is_superuser=True, is_staff=True))
    campaign = make_campaign()
    for route in _routes_with_ids():
        for ids in ({"pk": big}, {"pk": campaign.pk}):  # the inner ids too, in a real campaign
            url = "/api/" + _fill(route, ids, big)
            for method in ("get", "post", "put", "patch", "delete"):
                r = getattr(api, method)(url, {}, format="json")
                assert r.status_code < 500, (method, url)
                if "pk" in ids and ids["pk"] == big:
                    assert r.status_code == 404, (method, url)
                    assert r.json()["code"] == "not_found"


def test_the_largest_id_is_just_not_found(api: Any) -> None:
    api.force_authenticate(UserFactory.create(is_superuser=True))
    r = api.get(f"/api/campaigns/{MAX_INT64}/")
    assert r.status_code == 404
    r = api.post(f"/api/assignments/{MAX_INT64}/skip/")
    assert r.status_code == 404


def test_a_campaign_filter_past_the_integer_range(api: Any) -> None:
    api.force_authenticate(UserFactory.create())
    for url in ("/api/leaderboard/", "/api/models/1/examples/"):
        assert api.get(f"{url}?campaign={2**64}").status_code == 404
        assert api.get(f"{url}?campaign={'9' * 5000}").status_code == 404
        r = api.get(f"{url}?campaign=²")  # a digit to str.isdigit, not to int()
        assert r.status_code == 400
        assert "campaign" in r.json()["errors"]


def _paged_urls(campaign_id: int) -> list[str]:
    base = f"/api/campaigns/{campaign_id}"
    return [
        "/api/campaigns/",
        f"{base}/prompts/",
        f"{base}/items/",
        f"{base}/review/?dimension=harm",
        "/api/leaderboard/",
        "/api/models/1/examples/",
        f"{base}/classifier/runs/",
        f"{base}/classifier/predictions/",
    ]


@pytest.mark.parametrize("param", ["limit", "offset"])
def test_limit_and_offset_past_the_integer_range_are_a_400(api: Any, param: str) -> None:
    campaign = make_campaign()
    ItemFactory.create(campaign=campaign, prompt__campaign=campaign)
    api.force_authenticate(member(campaign, Membership.Role.ADMIN))
    for url in _paged_urls(campaign.pk):
        joint = "&" if "?" in url else "?"
        for big in (MAX_INT64 + 1, 10**30):
            r = api.get(f"{url}{joint}{param}={big}")
            assert r.status_code == 400, (url, r.content)
            assert list(r.json()["errors"]) == [param]
        # In range, or not a number at all (DRF's default then): a page.
        for fine in (MAX_INT64, "abc", "-1"):
            assert api.get(f"{url}{joint}{param}={fine}").status_code == 200, (url, fine)


def test_an_unknown_api_path_answers_json(api: Any) -> None:
    for user in (None, UserFactory.create()):
        api.force_authenticate(user)
        r = api.get("/api/no-such-thing/")
        assert r.status_code == 404
        assert r["Content-Type"] == "application/json"
        assert r.json() == {"detail": "no such API endpoint or object", "code": "not_found"}


def test_other_unknown_paths_keep_djangos_page(client: Any) -> None:
    r = client.get("/accounts/no-such-page/")
    assert r.status_code == 404
    assert r["Content-Type"].startswith("text/html")


def test_an_uncaught_exception_under_api_answers_json(api: Any, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("labeling.campaigns.apis.campaign_counts", broken)
    campaign = make_campaign()
    api.force_authenticate(member(campaign, Membership.Role.VIEWER))
    api.raise_request_exception = False
    r = api.get(f"/api/campaigns/{campaign.pk}/")
    assert r.status_code == 500
    assert r["Content-Type"] == "application/json"
    assert r.json()["code"] == "server_error"
    assert "a bug" not in r.content.decode()


def test_server_errors_elsewhere_keep_djangos_page() -> None:
    r = server_error(RequestFactory().get("/campaigns/1"))
    assert r.status_code == 500
    assert r["Content-Type"].startswith("text/html")
