"""Exports: JSONL and CSV streamed, Parquet and a Hugging Face datasets folder zipped with a
datasheet; private prompts only for admins who ask; bad input is a 400 naming the field."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from labeling.exports import rows as rows_module
from labeling.models import Annotation, Campaign, Consensus, Item, Membership
from tests.factories import MembershipFactory, valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    item_for,
    make_campaign,
    make_model,
    make_user,
    submitted,
)

SPAN = [{"start": 4, "end": 11, "label": "false_claim", "text": "capital"}]


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _label(item: Item, annotator: Any, **values: Any) -> Annotation:
    return submitted(item, annotator, valid_values(**values), time_spent_ms=1234)


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    campaign = make_campaign(name="Export me", instructions="Judge **harm**.")
    alpha = make_model(name="alpha", revision="abc123")
    beta = make_model(name="beta")
    people = {role: make_user() for role in ("admin", "viewer", "annotator", "outsider")}
    for role in ("admin", "viewer", "annotator"):
        MembershipFactory.create(campaign=campaign, user=people[role], role=role)
    u1, u2 = make_user(), make_user()
    public = [
        item_for(campaign, model=m, provenance={"decoding": {"temperature": 0.7}})
        for m in (alpha, beta, alpha)
    ]
    private = item_for(campaign, model=beta, split="private")
    private.prompt.text = "SECRET held-out prompt"
    private.prompt.save()
    for item in public:
        _label(item, u1, harm="unsafe", hazard="hate", harmful_spans=SPAN, fluency=2)
        _label(item, u2, bias="subtle", bias_target=["age", "religion"], fluency=5)
        Consensus.objects.create(
            campaign=campaign,
            item=item,
            dimension="harm",
            value="unsafe",
            confidence=0.9,
            method="majority",
            n_labels=2,
        )
    _label(private, u1, fluency=3)
    return {"campaign": campaign, "people": people, "public": public, "private": private}


def _get(client_as: Any, who: Any, campaign: Campaign, query: str) -> Any:
    return client_as(who).get(f"/api/campaigns/{campaign.pk}/export/?{query}")


def test_jsonl_streams_one_row_per_annotation(world: dict[str, Any], client_as: Any) -> None:
    r = _get(client_as, world["people"]["viewer"], world["campaign"], "as=jsonl")
    assert r.status_code == 200 and r.streaming
    assert "datasheet" in r["Link"] and r["Content-Type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in b"".join(r.streaming_content).decode().splitlines()]
    assert len(rows) == 6
    assert {row["split"] for row in rows} == {"public"}
    assert "SECRET" not in json.dumps(rows)
    first = rows[0]
    assert first["model"] == "alpha" and first["model_revision"] == "abc123"
    assert first["decoding"] == {"temperature": 0.7}
    assert first["harm"] == "unsafe" and first["harmful_spans"] == SPAN
    assert first["consensus_harm"] == "unsafe" and first["time_spent_ms"] == 1234
    assert rows[1]["bias_target"] == ["age", "religion"] and rows[1]["harm"] == "safe"
    assert isinstance(first["annotator"], int)


def test_private_prompts_only_for_admins_who_ask(world: dict[str, Any], client_as: Any) -> None:
    campaign, people = world["campaign"], world["people"]
    r = _get(client_as, people["viewer"], campaign, "as=jsonl&include_private=1")
    assert r.status_code == 403
    r = _get(client_as, people["admin"], campaign, "as=jsonl")
    assert len(b"".join(r.streaming_content).splitlines()) == 6
    r = _get(client_as, people["admin"], campaign, "as=jsonl&include_private=1")
    body = b"".join(r.streaming_content).decode()
    assert len(body.splitlines()) == 7 and "SECRET held-out prompt" in body


def test_csv_has_a_column_per_dimension(world: dict[str, Any], client_as: Any) -> None:
    r = _get(client_as, world["people"]["admin"], world["campaign"], "as=csv")
    assert r.status_code == 200 and r.streaming
    reader = csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode()))
    rows = list(reader)
    assert len(rows) == 6
    assert {"harm", "fluency", "harmful_spans", "consensus_harm", "output"} <= set(
        reader.fieldnames or []
    )
    assert json.loads(rows[0]["harmful_spans"]) == SPAN
    assert rows[0]["fluency"] == "2"


def _zip(response: Any) -> zipfile.ZipFile:
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_parquet_zip_with_datasheet(world: dict[str, Any], client_as: Any, tmp_path: Path) -> None:
    r = _get(
        client_as,
        world["people"]["admin"],
        world["campaign"],
        "as=parquet&include_private=1&license=CC-BY-4.0",
    )
    bundle = _zip(r)
    assert set(bundle.namelist()) == {"annotations.parquet", "DATASHEET.md"}
    bundle.extractall(tmp_path)
    table = pq.read_table(tmp_path / "annotations.parquet")
    assert table.num_rows == 7
    assert table.schema.field("fluency").type == "int64"
    assert sorted(table.column("fluency").to_pylist()) == [2, 2, 2, 3, 5, 5, 5]
    sheet = (tmp_path / "DATASHEET.md").read_text()
    assert "# Datasheet: Export me" in sheet and "License: CC-BY-4.0" in sheet
    assert "| alpha |" in sheet and "abc123" in sheet and "temperature=0.7" in sheet
    assert "7 on 4 outputs by 2 annotators" in sheet and "Judge **harm**." in sheet


def test_parquet_is_written_in_batches(
    world: dict[str, Any], client_as: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from labeling.exports import formats

    monkeypatch.setattr(formats, "BATCH", 2)
    monkeypatch.setattr(rows_module, "CHUNK", 2)
    bundle = _zip(_get(client_as, world["people"]["admin"], world["campaign"], "as=parquet"))
    bundle.extractall(tmp_path)
    meta = pq.ParquetFile(tmp_path / "annotations.parquet").metadata
    assert meta.num_rows == 6 and meta.num_row_groups == 3


def test_hugging_face_datasets_folder(
    world: dict[str, Any], client_as: Any, tmp_path: Path
) -> None:
    from datasets import load_from_disk

    bundle = _zip(_get(client_as, world["people"]["viewer"], world["campaign"], "as=hf"))
    assert "DATASHEET.md" in bundle.namelist()
    assert "dataset/dataset_info.json" in bundle.namelist()
    bundle.extractall(tmp_path)
    dataset = load_from_disk(str(tmp_path / "dataset"))
    assert len(dataset) == 6
    assert dataset[0]["harm"] == "unsafe" and dataset[0]["fluency"] == 2
    assert "SECRET" not in json.dumps(dataset.to_list())


def test_datasheet_endpoint(world: dict[str, Any], client_as: Any) -> None:
    url = f"/api/campaigns/{world['campaign'].pk}/export/datasheet/?license=MIT"
    r = client_as(world["people"]["viewer"]).get(url)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/markdown")
    text = r.content.decode()
    assert "License: MIT" in text and "public prompts only" in text
    assert "| harm | choice | safe, unsafe |" in text
    assert "Not computed yet" in text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("as=xml", "as"),
        ("include_private=yes", "include_private"),
        ("license=%3Cscript%3E", "license"),
    ],
)
def test_export_bad_input(world: dict[str, Any], client_as: Any, query: str, field: str) -> None:
    r = _get(client_as, world["people"]["admin"], world["campaign"], query)
    assert r.status_code == 400
    assert field in r.json()["errors"]


def test_export_of_another_users_campaign(world: dict[str, Any], client_as: Any) -> None:
    campaign, people = world["campaign"], world["people"]
    assert _get(client_as, people["outsider"], campaign, "as=jsonl").status_code == 404
    assert _get(client_as, people["annotator"], campaign, "as=jsonl").status_code == 403
    other = make_campaign()
    MembershipFactory.create(campaign=other, user=people["outsider"], role=Membership.Role.ADMIN)
    url = f"/api/campaigns/{campaign.pk}/export/datasheet/"
    assert client_as(people["outsider"]).get(url).status_code == 404


@pytest.fixture
def stored_surrogates(world: dict[str, Any]) -> dict[str, Any]:
    """Strings with lone surrogates as they were stored before inputs were checked: JSON
    columns keep them as \\u escapes (SQLite; PostgreSQL's jsonb refuses them)."""
    campaign, item = world["campaign"], world["public"][0]
    Annotation.objects.filter(item=item).update(
        values=valid_values(rationale="x \udc00 y", harm="unsafe", hazard="hate")
    )
    Consensus.objects.filter(item=item).update(value="unsafe \ud800")
    Item.objects.filter(pk=item.pk).update(provenance={"decoding": {"note": "\udfff"}})
    rubric = campaign.rubric
    rubric.schema["dimensions"][-1]["label"] = "Why \udc00"
    rubric.save()
    return world


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "hf", "label_studio"])
def test_every_export_encodes_stored_lone_surrogates_as_replacement_characters(
    stored_surrogates: dict[str, Any], client_as: Any, tmp_path: Path, fmt: str
) -> None:
    world = stored_surrogates
    r = _get(client_as, world["people"]["admin"], world["campaign"], f"as={fmt}")
    assert r.status_code == 200
    if fmt in ("jsonl", "csv"):
        text = b"".join(r.streaming_content).decode()  # strict: valid UTF-8 throughout
    else:
        _zip(r).extractall(tmp_path)
        if fmt == "parquet":
            table = pq.read_table(tmp_path / "annotations.parquet")
            text = json.dumps(table.to_pylist(), ensure_ascii=False)
        elif fmt == "hf":
            from datasets import load_from_disk

            dataset = load_from_disk(str(tmp_path / "dataset"))
            text = json.dumps(dataset.to_list(), ensure_ascii=False)
        else:
            text = (tmp_path / "tasks.json").read_text() + (tmp_path / "config.xml").read_text()
        text += (tmp_path / "DATASHEET.md").read_text()
    assert "x \ufffd y" in text
    assert "\udc00" not in text
    if fmt != "label_studio":
        assert "unsafe \ufffd" in text
    if fmt == "label_studio":
        assert "Why \ufffd" in text


def test_datasheet_and_label_studio_config_with_stored_lone_surrogates(
    stored_surrogates: dict[str, Any], client_as: Any
) -> None:
    campaign, admin = stored_surrogates["campaign"], stored_surrogates["people"]["admin"]
    for url in (
        f"/api/campaigns/{campaign.pk}/export/datasheet/",
        f"/api/campaigns/{campaign.pk}/label-studio/config/",
    ):
        r = client_as(admin).get(url)
        assert r.status_code == 200
        r.content.decode()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "hf", "label_studio"])
def test_a_campaign_without_annotations_exports_empty(
    db: Any, client_as: Any, tmp_path: Path, fmt: str
) -> None:
    campaign = make_campaign()
    admin = make_user()
    MembershipFactory.create(campaign=campaign, user=admin, role=Membership.Role.ADMIN)
    r = _get(client_as, admin, campaign, f"as={fmt}")
    assert r.status_code == 200
    if fmt == "hf":
        from datasets import load_from_disk

        _zip(r).extractall(tmp_path)
        dataset = load_from_disk(str(tmp_path / "dataset"))
        assert len(dataset) == 0
        assert dataset.features["fluency"].dtype == "int64"
        assert "consensus_harm" in dataset.column_names


FORMULAS = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_neutralizes_formulas_and_jsonl_parquet_keep_the_text(
    world: dict[str, Any], client_as: Any, tmp_path: Path
) -> None:
    item = world["public"][0]
    annotation = Annotation.objects.filter(item=item).first()
    assert annotation is not None
    rationale = "=cmd|' /C calc'!A0"
    annotation.values = {**annotation.values, "rationale": rationale}
    annotation.save()
    Item.objects.filter(pk=item.pk).update(text="-1 is the answer", harm_probability=0.25)
    admin, campaign = world["people"]["admin"], world["campaign"]
    r = _get(client_as, admin, campaign, "as=csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    row = next(x for x in rows if x["annotation_id"] == str(annotation.pk))
    assert row["rationale"] == "'" + rationale
    assert row["output"] == "'-1 is the answer"
    assert row["harm_probability"] == "0.25"
    r = _get(client_as, admin, campaign, "as=jsonl")
    lines = [json.loads(x) for x in b"".join(r.streaming_content).decode().splitlines()]
    line = next(x for x in lines if x["annotation_id"] == annotation.pk)
    assert line["rationale"] == rationale and line["output"] == "-1 is the answer"
    _zip(_get(client_as, admin, campaign, "as=parquet")).extractall(tmp_path)
    table = pq.read_table(tmp_path / "annotations.parquet").to_pylist()
    cell = next(x for x in table if x["annotation_id"] == annotation.pk)
    assert cell["rationale"] == rationale and cell["output"] == "-1 is the answer"
    sheet = client_as(admin).get(f"/api/campaigns/{campaign.pk}/export/datasheet/?as=csv")
    assert "single quote" in sheet.content.decode()


@pytest.mark.parametrize("text", FORMULAS)
def test_csv_cell_quotes_every_formula_start(text: str) -> None:
    from labeling.exports.formats import csv_cell

    assert csv_cell(text) == "'" + text
    assert csv_cell(-1.5) == -1.5
    assert csv_cell("safe") == "safe"
    assert csv_cell(["=x"]) == '["=x"]'
