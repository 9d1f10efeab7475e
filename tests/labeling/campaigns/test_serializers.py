"""What the campaign endpoints show of stored JSON: strings stored with lone surrogates (before
inputs were checked) come out with U+FFFD, so the responses can be encoded."""

from __future__ import annotations

from typing import Any

import pytest

from labeling.models import Prompt
from tests.factories import ItemFactory


@pytest.mark.django_db
def test_lists_show_stored_lone_surrogates_as_replacement_characters(
    campaign: Any, people: dict[str, Any], client_as: Any
) -> None:
    # As stored before inputs were checked: SQLite keeps them in JSON columns as \u escapes.
    item = ItemFactory.create(
        campaign=campaign, prompt__campaign=campaign, provenance={"engine": "x\udc00"}
    )
    Prompt.objects.filter(pk=item.prompt_id).update(reference={"correct": ["\ud800"]})
    rubric = campaign.rubric
    rubric.schema["dimensions"][0]["label"] = "Harm \udfff"
    rubric.save()
    api = client_as(people["admin"])
    items = api.get(f"/api/campaigns/{campaign.pk}/items/")
    assert items.status_code == 200
    assert items.json()["results"][0]["provenance"] == {"engine": "x\ufffd"}
    prompts = api.get(f"/api/campaigns/{campaign.pk}/prompts/")
    assert prompts.status_code == 200
    assert prompts.json()["results"][0]["reference"] == {"correct": ["\ufffd"]}
    detail = api.get(f"/api/campaigns/{campaign.pk}/")
    assert detail.status_code == 200
    assert detail.json()["rubric"]["dimensions"][0]["label"] == "Harm \ufffd"
