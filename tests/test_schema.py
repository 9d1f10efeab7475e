from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command


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
def test_docs_pages_are_served(client: object) -> None:
    from django.test import Client

    assert isinstance(client, Client)
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    home = client.get("/")
    assert b"/api/docs/" in home.content
