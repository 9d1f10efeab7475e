"""manage.py repair_text: strings stored before inputs were checked, found and repaired.

What SQLite stores: Django writes JSON columns with \\u escapes, so a lone surrogate in a JSON
value is stored (and read back) as one. Text columns refuse it at the driver (UTF-8 cannot
encode it), so such a row can only come from outside Django: raw bytes, written here with
CAST(X'..' AS TEXT), which then break every read of the row until repaired.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from labeling.campaigns.prompt_import import text_hash
from labeling.models import Annotation, Campaign, Consensus, Item, Prompt
from tests.factories import valid_values
from tests.labeling.factories_extra import FAST_HASHERS, make_campaign, make_item, member, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _raw(table: str, column: str, pk: int, data: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = CAST(X'{data.hex()}' AS TEXT) WHERE id = %s", [pk]
        )


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("repair_text", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def damaged() -> dict[str, Any]:
    campaign = make_campaign()
    item = make_item(campaign=campaign, prompt__campaign=campaign, gold_values={"harm": "\udfff"})
    annotation = submitted(item, member(campaign), valid_values(rationale="x \udc00 y 😀"))
    Consensus.objects.create(
        campaign=campaign,
        item=item,
        dimension="harm",
        value="safe\ud800",
        confidence=1.0,
        method="majority",
        n_labels=1,
    )
    # Text columns: bytes no UTF-8 decoder accepts, as another tool could have written them.
    _raw("labeling_item", "text", item.pk, b"ok \xed\xb0\x80 end")
    _raw("labeling_prompt", "text", item.prompt_id, "😀 ".encode() + b"\xed\xa0\xbd\xed\xb8\x80?")
    _raw("labeling_campaign", "name", campaign.pk, b"name \xff")
    return {"campaign": campaign, "item": item, "annotation": annotation}


def test_the_database_stores_what_it_stores(damaged: dict[str, Any]) -> None:
    stored = Annotation.objects.get(pk=damaged["annotation"].pk)
    assert stored.values["rationale"] == "x \udc00 y 😀"  # read back as it was written
    with pytest.raises(OperationalError):  # sqlite3 cannot decode the raw bytes
        list(Item.objects.filter(pk=damaged["item"].pk).values_list("text", flat=True))
    with pytest.raises(UnicodeEncodeError):  # the driver refuses a lone surrogate in text
        Campaign.objects.filter(pk=damaged["campaign"].pk).update(instructions="\udc00")


def test_dry_run_prints_and_changes_nothing(damaged: dict[str, Any]) -> None:
    out, _ = _run("--dry-run")
    assert "labeling_annotation.values" in out and "1 lone surrogate(s)" in out
    assert f"labeling_item.text #{damaged['item'].pk}" in out
    assert "labeling_campaign.name" in out and "not UTF-8" in out
    assert "would repair 6 value(s)" in out
    assert Annotation.objects.get().values["rationale"] == "x \udc00 y 😀"


def test_repair_replaces_lone_surrogates_and_keeps_everything_else(
    damaged: dict[str, Any],
) -> None:
    out, err = _run()
    assert "repaired 6 value(s)" in out, out + err
    item = Item.objects.select_related("prompt", "campaign").get(pk=damaged["item"].pk)
    assert Annotation.objects.get().values == valid_values(rationale="x \ufffd y 😀")
    assert item.gold_values == {"harm": "\ufffd"}
    assert Consensus.objects.get().value == "safe\ufffd"
    assert item.text == "ok \ufffd end"
    assert item.prompt.text == "😀 😀?"  # a surrogate pair is the character it encodes
    assert item.prompt.text_sha256 == text_hash("😀 😀?")
    assert item.campaign.name == "name \ufffd"
    out, _ = _run()
    assert "repaired 0 value(s)" in out


def test_exports_work_after_the_repair(damaged: dict[str, Any], client_as: Any) -> None:
    admin = member(damaged["campaign"], "admin")
    _run()
    r = client_as(admin).get(f"/api/campaigns/{damaged['campaign'].pk}/export/?as=jsonl")
    assert r.status_code == 200
    assert "x \ufffd y 😀" in b"".join(r.streaming_content).decode()


def test_clean_rows_need_nothing() -> None:
    campaign = make_campaign(name="😀 fine", instructions="")
    item = make_item(campaign=campaign, prompt__campaign=campaign, text="ok \ufffd already")
    submitted(item, member(campaign), valid_values(rationale="😀 \ufffd"))
    Prompt.objects.filter(pk=item.prompt_id).update(reference={"correct": ["a"]})
    out, err = _run()
    assert out.strip() == "repaired 0 value(s)" and not err
