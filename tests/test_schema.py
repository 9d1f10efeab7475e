from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

from tests.factories import UserFactory


@pytest.mark.django_db
def test_openapi_schema_is_valid_and_complete(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    paths = yaml.safe_load(out.read_text())["paths"]
    for path in (
        "/api/campaigns/{id}/next/",
        "/api/assignments/{id}/submit/",
        "/api/campaigns/{id}/scores/",
        "/api/models/{id}/scores/",
        "/api/campaigns/{id}/prompts/import/",
        "/api/jobs/{id}/",
    ):
        assert path in paths


@pytest.mark.django_db
def test_docs_pages_are_served_and_the_app_needs_a_login(client: Client) -> None:
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    anonymous = client.get("/campaigns/1")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory.create())
    page = client.get("/campaigns/1")
    assert page.status_code == 200
    assert "csrftoken" in page.cookies
