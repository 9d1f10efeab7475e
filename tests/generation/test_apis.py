"""The candidate models' endpoints: a model's path names a file on the workers, which only staff
see; everyone else reads an empty string."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import CandidateModelFactory, UserFactory
from tests.labeling.factories_extra import FAST_HASHERS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.mark.parametrize(
    ("who", "sees"),
    [({}, False), ({"is_staff": True}, True), ({"is_superuser": True}, True)],
)
def test_only_staff_see_a_models_path(client_as: Any, who: dict[str, bool], sees: bool) -> None:
    model = CandidateModelFactory.create(backend="transformers", path="/srv/models/secret-7b")
    api = client_as(UserFactory.create(**who))
    listed = api.get("/api/models/")
    assert listed.status_code == 200
    assert [m["path"] for m in listed.json()] == ["/srv/models/secret-7b" if sees else ""]
    detail = api.get(f"/api/models/{model.pk}/")
    assert detail.status_code == 200
    assert detail.json()["path"] == ("/srv/models/secret-7b" if sees else "")
    assert ("secret-7b" in detail.content.decode()) == sees


def test_staff_registering_a_model_see_its_path(client_as: Any) -> None:
    body = {"name": "m", "backend": "transformers", "path": "/srv/m"}
    r = client_as(UserFactory.create(is_staff=True)).post("/api/models/", body, format="json")
    assert r.status_code == 201
    assert r.json()["path"] == "/srv/m"
