"""Prompt import against hostile and big files: every bad row a 400 naming its row and field,
uploads over the size limit refused before parsing, and rows written in chunks that stay
invisible until the whole import commits (or never, when it fails or its process dies)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import DomainError
from labeling.campaigns import imports
from labeling.campaigns.prompt_import import text_hash
from labeling.campaigns.selectors import campaign_counts, campaign_prompt_texts, prompts_visible
from labeling.campaigns.services import prompt_imports_cleanup, prompts_import
from labeling.models import Campaign, Prompt, PromptImport
from tests.labeling.factories_extra import FAST_HASHERS


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def admin_api(campaign: Campaign, people: dict[str, Any], client_as: Any) -> APIClient:
    client: APIClient = client_as(people["admin"])
    return client


def _url(campaign: Campaign) -> str:
    return f"/api/campaigns/{campaign.pk}/prompts/import/"


def _post(api: APIClient, campaign: Campaign, content: str, fmt: str) -> Any:
    # Sent as raw JSON text: json.dumps keeps "\\udc00" and NaN as the escapes a client sends.
    body = json.dumps({"content": content, "format": fmt})
    return api.post(_url(campaign), body, content_type="application/json")


def _rows(r: Any) -> list[tuple[int, str]]:
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "import_rejected"
    return [(e["row"], e["field"]) for e in r.json()["rows"]]


def _reason(r: Any) -> str:
    return str(r.json()["rows"][0]["reason"])


# --- item 1: the 500s that are 400s naming the row and field ----------------------------------


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_csv_line_ends_cr_crlf_and_lf_all_import(
    campaign: Campaign, admin_api: APIClient, end: str
) -> None:
    content = end.join(["text,category", "First?,a", '"Two\nlines?",b', "Third?,c"]) + end
    r = _post(admin_api, campaign, content, "csv")
    assert r.status_code == 201, r.content
    assert sorted(Prompt.objects.values_list("text", "category")) == [
        ("First?", "a"),
        ("Third?", "c"),
        ("Two\nlines?", "b"),
    ]


def test_csv_cr_only_bad_row_reports_its_line(campaign: Campaign, admin_api: APIClient) -> None:
    r = _post(admin_api, campaign, "text,split\rFine?,public\rBad?,nope\r", "csv")
    assert _rows(r) == [(3, "split")]


def test_csv_cell_over_the_field_limit_names_row_and_column(
    campaign: Campaign, admin_api: APIClient
) -> None:
    content = "id,text\nq1,Short?\nq2," + "x" * 140_000 + "\nq3,After?\n"
    r = _post(admin_api, campaign, content, "csv")
    assert _rows(r) == [(3, "text")]
    assert "longer than 131072 characters" in _reason(r)
    assert not Prompt.all_rows.exists()


def test_csv_quoted_cell_over_the_field_limit_names_its_column(
    campaign: Campaign, admin_api: APIClient
) -> None:
    content = 'text,category\n"A, quoted?",' + '"' + "y" * 140_000 + '"\n'
    r = _post(admin_api, campaign, content, "csv")
    assert _rows(r) == [(2, "category")]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"text": "Fine?", "reference": {"score": NaN}}', "reference.score"),
        ('{"text": Infinity}', "text"),
        ('{"text": "Fine?", "category": -Infinity}', "category"),
        ('{"text": "Big?", "reference": {"x": 1e999}}', "reference.x"),
    ],
)
def test_jsonl_nan_and_infinity_name_their_field(
    campaign: Campaign, admin_api: APIClient, line: str, field: str
) -> None:
    r = _post(admin_api, campaign, '{"text": "Good?"}\n' + line + "\n", "jsonl")
    assert _rows(r) == [(2, field)]
    assert "finite" in _reason(r)
    assert not Prompt.all_rows.exists()


def test_jsonl_nested_100k_deep_is_a_bad_row(campaign: Campaign, admin_api: APIClient) -> None:
    deep = '{"text": "Deep?", "reference": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    r = _post(admin_api, campaign, '{"text": "Good?"}\n' + deep + "\n", "jsonl")
    assert _rows(r) == [(2, "")]
    assert "nested deeper than" in _reason(r)


def test_jsonl_nested_past_the_depth_limit_names_the_path(
    campaign: Campaign, admin_api: APIClient
) -> None:
    deep = '{"text": "Deep?", "reference": {"x": ' + "[" * 80 + "]" * 80 + "}}"
    r = _post(admin_api, campaign, deep + "\n", "jsonl")
    [(row, field)] = _rows(r)
    assert row == 1 and field.startswith("reference.x[0]")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"text": "Bad \\udc00 text?"}', "text"),
        ('{"text": "Fine?", "reference": {"best_answer": "\\ud800"}}', "reference.best_answer"),
        ('{"text": "Fine?", "id": "a\\udfff"}', "id"),
    ],
)
def test_jsonl_lone_surrogate_names_its_field(
    campaign: Campaign, admin_api: APIClient, line: str, field: str
) -> None:
    r = _post(admin_api, campaign, line + "\n", "jsonl")
    assert _rows(r) == [(1, field)]
    assert "surrogate" in _reason(r)


def test_jsonl_a_surrogate_pair_is_fine(campaign: Campaign, admin_api: APIClient) -> None:
    r = _post(admin_api, campaign, '{"text": "Emoji \\ud83d\\ude00?"}\n', "jsonl")
    assert r.status_code == 201, r.content
    assert Prompt.objects.get().text == "Emoji \U0001f600?"


def test_csv_lone_surrogate_in_a_cell_names_row_and_column(campaign: Campaign) -> None:
    # The API's JSON body refuses a lone surrogate outright (DRF's CharField); a caller of the
    # service with text (load_demo, scripts) can still hand one over.
    with pytest.raises(DomainError) as caught:
        prompts_import(
            campaign=campaign, data="text,category\nFine?,a\nAlso fine?,b\udc00\n", fmt="csv"
        )
    assert [(e["row"], e["field"]) for e in caught.value.extra["rows"]] == [(3, "category")]
    assert not Prompt.all_rows.exists()


def test_invalid_utf8_in_a_file_names_its_line(campaign: Campaign, admin_api: APIClient) -> None:
    data = b"text\nFine?\nAlso fine?\nBad \xed\xb0\x80 bytes?\n"  # an encoded lone surrogate
    upload = SimpleUploadedFile("p.csv", data)
    r = admin_api.post(_url(campaign), {"file": upload}, format="multipart")
    assert r.status_code == 400, r.content
    assert "not UTF-8 text (line 4" in r.json()["errors"]["file"][0]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"text": "Nul \\u0000 here?"}', "text"),
        ('{"text": "Fine?", "reference": {"a": "\\u0000"}}', "reference.a"),
        ('{"text": "Fine?", "id": ' + "9" * 5000 + "}", ""),
        ('{"text": "Fine?", "split": ["private"]}', "split"),
    ],
)
def test_values_no_database_stores_are_bad_rows(
    campaign: Campaign, admin_api: APIClient, line: str, field: str
) -> None:
    r = _post(admin_api, campaign, line + "\n", "jsonl")
    assert _rows(r) == [(1, field)]


# --- item 2: size limits, and big imports in invisible chunks ---------------------------------


def test_an_upload_over_the_limit_is_refused_before_it_is_parsed(
    campaign: Campaign, admin_api: APIClient, settings: Any
) -> None:
    settings.ASSAY_IMPORT_MAX_BYTES = 1000
    upload = SimpleUploadedFile("p.jsonl", b'{"text": "x?"}\n' * 200)
    with (
        mock.patch("rest_framework.parsers.MultiPartParser.parse") as parse,
        mock.patch("labeling.campaigns.services.prompts_import") as service,
    ):
        r = admin_api.post(_url(campaign), {"file": upload}, format="multipart")
    assert r.status_code == 413, r.content
    assert r.json()["code"] == "too_large"
    assert "1000 bytes" in r.json()["errors"]["file"][0]
    parse.assert_not_called()
    service.assert_not_called()


def test_json_content_over_the_limit_is_refused(
    campaign: Campaign, admin_api: APIClient, settings: Any
) -> None:
    settings.ASSAY_IMPORT_MAX_BYTES = 1000
    r = _post(admin_api, campaign, '{"text": "x?"}\n' * 200, "jsonl")
    assert r.status_code == 413, r.content
    assert not PromptImport.objects.exists()


def test_an_upload_under_the_limit_passes(
    campaign: Campaign, admin_api: APIClient, settings: Any
) -> None:
    settings.ASSAY_IMPORT_MAX_BYTES = 10_000
    upload = SimpleUploadedFile("p.jsonl", b'{"text": "x?"}\n')
    r = admin_api.post(_url(campaign), {"file": upload}, format="multipart")
    assert r.status_code == 201, r.content


def test_the_row_limit_stops_parsing_early(campaign: Campaign, monkeypatch: Any) -> None:
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    seen: list[int] = []
    real = imports.clean_row

    def counting(lineno: int, *args: Any) -> Any:
        seen.append(lineno)
        return real(lineno, *args)

    monkeypatch.setattr(imports, "clean_row", counting)
    content = "".join(json.dumps({"text": f"q{i}?"}) + "\n" for i in range(100))
    with pytest.raises(DomainError, match="at most 3 rows"):
        prompts_import(campaign=campaign, data=content, fmt="jsonl")
    assert seen == [1, 2, 3]


def test_a_file_of_many_bad_rows_lists_the_first_and_counts_the_rest(
    campaign: Campaign, monkeypatch: Any
) -> None:
    monkeypatch.setattr("labeling.campaigns.prompt_import.MAX_REPORTED", 5)
    with pytest.raises(DomainError) as caught:
        prompts_import(campaign=campaign, data="{}\n" * 12, fmt="jsonl")
    assert [e["row"] for e in caught.value.extra["rows"]] == [1, 2, 3, 4, 5]
    assert caught.value.extra["rows_not_listed"] == 7
    assert "12 bad row(s)" in caught.value.message


def _jsonl(n: int, prefix: str = "q") -> str:
    return "".join(
        json.dumps({"text": f"{prefix}{i}?", "id": f"{prefix}{i}"}) + "\n" for i in range(n)
    )


def test_chunks_stay_invisible_until_the_import_commits(
    campaign: Campaign, monkeypatch: Any
) -> None:
    monkeypatch.setattr(imports, "IMPORT_CHUNK", 3)
    during: list[tuple[int, int, int, int]] = []

    def observe() -> None:
        during.append(
            (
                Prompt.all_rows.filter(campaign=campaign).count(),
                Prompt.objects.filter(campaign=campaign).count(),
                len(campaign_prompt_texts(campaign)),
                prompts_visible(campaign, is_admin=True).count()
                + campaign_counts(campaign)["prompts"],
            )
        )

    monkeypatch.setattr(imports, "_let_others_write", observe)
    report = prompts_import(campaign=campaign, data=_jsonl(8), fmt="jsonl")
    assert report.created == 8
    assert during == [(3, 0, 0, 0), (6, 0, 0, 0), (8, 0, 0, 0)]
    assert Prompt.objects.filter(campaign=campaign).count() == 8
    assert report.import_id is not None
    job = PromptImport.objects.get(pk=report.import_id)
    assert (job.status, job.rows, job.campaign_id) == ("committed", 8, campaign.pk)
    assert set(Prompt.objects.values_list("source_import_id", flat=True)) == {job.pk}


def test_a_failure_midway_deletes_what_was_written(campaign: Campaign, monkeypatch: Any) -> None:
    monkeypatch.setattr(imports, "IMPORT_CHUNK", 3)
    real = imports._write_chunk
    calls: list[int] = []

    def flaky(job: PromptImport, rows: list[bytes]) -> None:
        calls.append(len(rows))
        if len(calls) == 3:
            raise OSError("disk full")
        real(job, rows)

    monkeypatch.setattr(imports, "_write_chunk", flaky)
    with pytest.raises(OSError, match="disk full"):
        prompts_import(campaign=campaign, data=_jsonl(8), fmt="jsonl")
    assert not Prompt.all_rows.exists()
    job = PromptImport.objects.get()
    assert job.status == "failed" and "disk full" in job.error


def _crashed_import(campaign: Campaign, texts: list[str], *, age: timedelta) -> PromptImport:
    """An import whose process died after writing some rows: pending, heartbeat `age` old."""
    job = PromptImport.objects.create(campaign=campaign, heartbeat_at=timezone.now() - age)
    Prompt.all_rows.bulk_create(
        [
            Prompt(campaign=campaign, text=t, text_sha256=text_hash(t), source_import=job)
            for t in texts
        ]
    )
    return job


def test_a_crashed_imports_rows_never_show_and_cleanup_removes_them(campaign: Campaign) -> None:
    job = _crashed_import(campaign, ["q0?", "q1?"], age=timedelta(hours=1))
    assert not Prompt.objects.exists()
    assert campaign_counts(campaign)["prompts"] == 0
    assert prompt_imports_cleanup() == 2
    job.refresh_from_db()
    assert job.status == "failed" and "heartbeat" in job.error
    assert not Prompt.all_rows.exists()


def test_an_import_first_cleans_up_a_crashed_one(campaign: Campaign) -> None:
    _crashed_import(campaign, ["q0?", "q1?"], age=timedelta(hours=1))
    report = prompts_import(campaign=campaign, data=_jsonl(3), fmt="jsonl")
    assert report.created == 3
    assert sorted(Prompt.all_rows.values_list("text", flat=True)) == ["q0?", "q1?", "q2?"]


def test_a_live_import_holds_its_texts(campaign: Campaign) -> None:
    _crashed_import(campaign, ["q1?"], age=timedelta(seconds=5))  # still alive: fresh heartbeat
    with pytest.raises(DomainError) as caught:
        prompts_import(campaign=campaign, data=_jsonl(3), fmt="jsonl")
    [error] = caught.value.extra["rows"]
    assert (error["row"], error["field"]) == (2, "text")
    assert "another import that has not finished" in error["reason"]


def test_the_cleanup_command(campaign: Campaign, capsys: Any) -> None:
    _crashed_import(campaign, ["q0?"], age=timedelta(days=1))
    call_command("prompt_imports_cleanup")
    assert "deleted 1 rows" in capsys.readouterr().out
    assert not Prompt.all_rows.exists()


def test_a_conflicting_import_in_between_the_passes_is_a_409(
    campaign: Campaign, admin_api: APIClient, monkeypatch: Any
) -> None:
    monkeypatch.setattr(imports, "IMPORT_CHUNK", 2)
    real = imports._check_rows

    def meanwhile(*args: Any) -> int:
        n = real(*args)
        Prompt.objects.create(campaign=campaign, text="q3?", text_sha256=text_hash("q3?"))
        return n

    monkeypatch.setattr(imports, "_check_rows", meanwhile)
    r = _post(admin_api, campaign, _jsonl(5), "jsonl")
    assert r.status_code == 409, r.content
    assert r.json()["code"] == "import_conflict"
    assert list(Prompt.all_rows.values_list("text", flat=True)) == ["q3?"]
    assert PromptImport.objects.get().status == "failed"


def test_an_import_failed_by_the_cleanup_midway_stops(campaign: Campaign, monkeypatch: Any) -> None:
    monkeypatch.setattr(imports, "IMPORT_CHUNK", 2)

    def stall() -> None:
        # As if this import stalled past IMPORT_STALE and another request cleaned it up.
        PromptImport.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))
        prompt_imports_cleanup(campaign=campaign)

    monkeypatch.setattr(imports, "_let_others_write", stall)
    with pytest.raises(DomainError) as caught:
        prompts_import(campaign=campaign, data=_jsonl(5), fmt="jsonl")
    assert caught.value.code == "import_cancelled" and caught.value.status_code == 409
    assert not Prompt.all_rows.exists()
