"""Cleaning jobs end to end with a real classifier: shards, outputs, idempotency, a killed run,
the API's refusals, and the audit."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from cleaning.audit import audit_open, audit_results
from cleaning.models import AuditSample, CleaningJob, CleaningShard
from cleaning.report import cleaning_job_finalize, cleaning_job_preview
from cleaning.runner import shard_run
from cleaning.services import cleaning_job_create, cleaning_job_plan, cleaning_job_start
from labeling.models import Consensus, Item
from tests.cleaning.helpers import corpus_rows, trained_version, write_jsonl
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def roots(tmp_path: Path) -> Any:
    root, out = tmp_path / "corpora", tmp_path / "out"
    root.mkdir()
    with override_settings(ASSAY_CLEANING_ROOT=str(root), ASSAY_CLEANING_OUTPUT_DIR=str(out)):
        yield root


@pytest.fixture
def staff() -> Any:
    return UserFactory.create(is_staff=True)


@pytest.fixture
def version(staff: Any) -> Any:
    return trained_version(staff)


def run_job(job: CleaningJob) -> CleaningJob:
    """What the workers do, in this process: plan, every shard, the finalizer."""
    cleaning_job_plan(job.pk)
    for shard_id in CleaningShard.objects.filter(job=job).values_list("pk", flat=True):
        shard_run(shard_id)
    cleaning_job_finalize(job.pk)
    job.refresh_from_db()
    return job


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def outputs(job: CleaningJob, kind: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for p in sorted((Path(job.output_dir) / kind).glob("shard-*")):
        rows += read_jsonl(p)
    return rows


def make_job(staff: Any, version: Any, path: str, threshold: float = 0.5, **kw: Any) -> Any:
    return cleaning_job_create(
        user=staff,
        name="t",
        path=path,
        text_field="content",
        id_field="doc_id",
        document_classifiers=[{"version": version.pk, "threshold": threshold}],
        shard_size=kw.pop("shard_size", 10),
        **kw,
    )


def test_every_document_lands_once_in_cleaned_or_removed_with_its_attributes(
    roots: Path, staff: Any, version: Any
) -> None:
    rows = corpus_rows(45)
    write_jsonl(roots / "c.jsonl", rows)
    job = run_job(make_job(staff, version, "c.jsonl", threshold=0.5))
    assert job.status == CleaningJob.Status.SUCCEEDED, job.error
    assert job.shards_total == 5 and job.total_docs == 45
    cleaned, removed, attrs = (outputs(job, k) for k in ("cleaned", "removed", "attributes"))
    ids = [r["doc_id"] for r in cleaned + removed]
    assert sorted(ids) == sorted(r["doc_id"] for r in rows)  # none missing, none twice
    assert len(attrs) == 45
    name = version.name
    for a in attrs:
        p = a["scores"][name]["positive"]
        assert a["decision"] == ("remove" if p >= 0.5 else "keep")
    report = job.report
    assert report is not None
    assert report["counts"].get("remove", 0) == len(removed) > 0
    assert report["counts"].get("keep", 0) == len(cleaned) > 0
    assert sum(report["doc_hist"][name]) == 45
    sheet = json.loads((Path(job.output_dir) / "datasheet.json").read_text())
    assert sheet["input"]["sha256"] == job.input_sha256 and len(job.input_sha256) == 64
    assert sheet["classifiers"]["document"][0]["threshold"] == 0.5
    # What each version was scored with (TF-IDF has no int8: fp32 whatever a job asks).
    assert sheet["classifiers"]["precision_requested"] == "fp32"
    assert sheet["classifiers"]["precision"] == {name: ["fp32"]}


def test_a_finished_shard_is_never_redone(roots: Path, staff: Any, version: Any) -> None:
    write_jsonl(roots / "c.jsonl", corpus_rows(20))
    job = run_job(make_job(staff, version, "c.jsonl"))
    shard = CleaningShard.objects.filter(job=job).order_by("index").first()
    assert shard is not None
    out = Path(job.output_dir) / "cleaned" / "shard-00000.jsonl"
    before = (out.stat().st_mtime_ns, shard.attempts)
    shard_run(shard.pk)  # a second delivery of the same task
    shard.refresh_from_db()
    assert (out.stat().st_mtime_ns, shard.attempts) == before


def test_a_killed_runs_partial_output_is_discarded_and_the_shard_retried(
    roots: Path, staff: Any, version: Any
) -> None:
    write_jsonl(roots / "c.jsonl", corpus_rows(20))
    job = make_job(staff, version, "c.jsonl")
    cleaning_job_plan(job.pk)
    first, second = CleaningShard.objects.filter(job=job).order_by("index")
    # The state a SIGKILL leaves: the shard running with its heartbeat, half a temp file.
    leftover = Path(job.output_dir) / "cleaned" / ".shard-00000.jsonl.tmp-deadbeef"
    leftover.parent.mkdir(parents=True)
    leftover.write_text('{"doc_id": "d0"}\n')
    CleaningShard.objects.filter(pk=first.pk).update(
        status="running", heartbeat_at=timezone.now(), run_token="dead", attempts=1
    )
    shard_run(first.pk)  # the heartbeat is fresh: a live run holds it, so nothing happens
    first.refresh_from_db()
    assert first.status == "running" and first.run_token == "dead"
    CleaningShard.objects.filter(pk=first.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    shard_run(first.pk)
    shard_run(second.pk)
    first.refresh_from_db()
    assert first.status == "succeeded" and first.attempts == 2
    assert not leftover.exists()
    cleaning_job_finalize(job.pk)
    job.refresh_from_db()
    ids = [r["doc_id"] for r in outputs(job, "cleaned") + outputs(job, "removed")]
    assert sorted(ids) == sorted(f"d{i}" for i in range(20))


@pytest.mark.parametrize("fmt", ["jsonl.gz", "parquet", "hf"])
def test_outputs_mirror_the_input_format(fmt: str, roots: Path, staff: Any, version: Any) -> None:
    rows = corpus_rows(25)
    if fmt == "jsonl.gz":
        with gzip.open(roots / "c.jsonl.gz", "wt") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        name = "c.jsonl.gz"
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), roots / "c.parquet", row_group_size=7)
        name = "c.parquet"
    else:
        import datasets

        datasets.Dataset.from_list(rows).save_to_disk(str(roots / "c_hf"))
        name = "c_hf"
    job = run_job(make_job(staff, version, name))
    assert job.status == "succeeded", job.error
    assert job.input_format == fmt
    got: list[str] = []
    for kind in ("cleaned", "removed"):
        for p in sorted((Path(job.output_dir) / kind).glob("shard-*")):
            if fmt == "jsonl.gz":
                got += [r["doc_id"] for r in read_jsonl(p)]
            elif fmt == "parquet":
                import pyarrow.parquet as pq

                got += pq.read_table(p).column("doc_id").to_pylist()
            else:
                import datasets

                got += datasets.load_from_disk(str(p))["doc_id"]
    assert sorted(got) == sorted(r["doc_id"] for r in rows)


def test_preview_scores_a_sample_and_start_takes_the_chosen_thresholds(
    roots: Path, staff: Any, version: Any
) -> None:
    write_jsonl(roots / "c.jsonl", corpus_rows(30))
    job = make_job(staff, version, "c.jsonl", start=False)
    assert job.status == "previewing"
    cleaning_job_preview(job.pk)
    job.refresh_from_db()
    assert job.status == "draft" and len(job.preview) == 30
    assert set(job.preview[0]["scores"]) == {version.name}
    cleaning_job_start(job=job, thresholds={version.name: 0.9})
    job.refresh_from_db()
    assert job.status == "queued" and job.document_classifiers[0]["threshold"] == 0.9


def test_the_audit_samples_each_stratum_blind_and_reports_intervals(
    roots: Path, staff: Any, version: Any
) -> None:
    write_jsonl(roots / "c.jsonl", corpus_rows(60))
    job = run_job(make_job(staff, version, "c.jsonl", shard_size=20))
    campaign = audit_open(job=job, user=staff, removed=5, masked=5, kept=5, overlap=1)
    samples = list(AuditSample.objects.filter(job=job))
    assert {a.stratum for a in samples} == {"removed", "kept"}  # no tagger: nothing masked
    items = list(Item.objects.filter(campaign=campaign))
    assert len(items) == 10
    for item in items:  # nothing an annotator sees names the decision
        assert "remov" not in json.dumps(item.provenance) and "kept" not in item.prompt.text
    for a in samples:  # humans call every removed doc harmful and one kept doc
        harmful = a.stratum == "removed" or a == next(s for s in samples if s.stratum == "kept")
        Consensus.objects.create(
            campaign=campaign,
            item_id=a.item_id,
            dimension="harm",
            value="unsafe" if harmful else "safe",
            confidence=1.0,
            method="majority",
            n_labels=1,
        )
    res = audit_results(job)
    assert res["removal_precision"]["estimate"] == 1.0 and res["removal_precision"]["n"] == 5
    assert res["residual_harm_rate"]["estimate"] == pytest.approx(0.2)
    low, high = res["residual_harm_rate"]["low"], res["residual_harm_rate"]["high"]
    assert 0.0 < low < 0.2 < high < 1.0
    assert len(res["sweep"]) == 9


def test_api_refuses_bad_input_and_hides_other_users_jobs(
    roots: Path, staff: Any, version: Any, client_as: Any
) -> None:
    write_jsonl(roots / "c.jsonl", corpus_rows(10))
    (roots.parent / "secret.jsonl").write_text('{"content": "x", "doc_id": 1}\n')
    api = client_as(staff)
    good = {
        "path": "c.jsonl",
        "text_field": "content",
        "id_field": "doc_id",
        "document_classifiers": [{"version": version.pk, "threshold": 0.5}],
        "start": False,
    }
    cases = [
        ({**good, "colour": "red"}, "colour"),
        (
            {**good, "document_classifiers": [{"version": version.pk, "threshold": 1.5}]},
            "document_classifiers[0].threshold",
        ),
        ({**good, "path": "../secret.jsonl"}, "path"),
        ({**good, "path": str(roots.parent / "secret.jsonl")}, "path"),
        ({**good, "path": "/etc/passwd"}, "path"),
        ({**good, "text_field": "body"}, "text_field"),
        (
            {**good, "document_classifiers": [{"version": 999999}]},
            "document_classifiers[0].version",
        ),
        ({**good, "document_classifiers": []}, "document_classifiers"),
        ({**good, "precision": "fp16"}, "precision"),
    ]
    for body, field in cases:
        r = api.post("/api/cleaning/jobs/", body, format="json")
        assert r.status_code == 400, (body, r.content)
        assert any(k.startswith(field) for k in r.json().get("errors", {})), (field, r.json())
    r = api.post("/api/cleaning/jobs/", good, format="json")
    assert r.status_code == 201, r.content
    job_id = r.json()["id"]
    r = api.post(
        f"/api/cleaning/jobs/{job_id}/start/", {"thresholds": {"nope": 0.2}}, format="json"
    )
    assert r.status_code == 400 and "thresholds.nope" in r.json()["errors"]
    other = client_as(UserFactory.create(is_staff=True))
    for url in ("", "files/", "audit/"):
        assert other.get(f"/api/cleaning/jobs/{job_id}/{url}").status_code == 404
    for url in ("start/", "resume/", "cancel/", "audit/"):
        assert (
            other.post(f"/api/cleaning/jobs/{job_id}/{url}", {}, format="json").status_code == 404
        )
    assert other.get("/api/cleaning/jobs/").json() == []
    # A staff user who does not administer the classifier's campaign cannot use it.
    r = other.post("/api/cleaning/jobs/", good, format="json")
    assert r.status_code == 400 and "document_classifiers[0].version" in r.json()["errors"]
    plain = client_as(UserFactory.create())
    assert plain.post("/api/cleaning/jobs/", good, format="json").status_code == 403


def test_downloads_list_finished_files_and_refuse_any_other_path(
    roots: Path, staff: Any, version: Any, client_as: Any
) -> None:
    write_jsonl(roots / "c.jsonl", corpus_rows(12))
    job = run_job(make_job(staff, version, "c.jsonl"))
    api = client_as(staff)
    listing = api.get(f"/api/cleaning/jobs/{job.pk}/files/").json()
    paths = {f["path"] for f in listing}
    assert {"report.json", "datasheet.json", "cleaned/shard-00000.jsonl"} <= paths
    r = api.get(f"/api/cleaning/jobs/{job.pk}/files/", {"path": "cleaned/shard-00000.jsonl"})
    assert r.status_code == 200
    for bad in ("../../secret", "/etc/passwd", "cleaned/../report.json"):
        r = api.get(f"/api/cleaning/jobs/{job.pk}/files/", {"path": bad})
        assert r.status_code == 404


@pytest.mark.parametrize("mode", ["replace", "delete"])
def test_the_tagger_masks_spans_of_kept_documents(
    mode: str, roots: Path, staff: Any, version: Any
) -> None:
    from tests.cleaning.helpers import trained_tagger

    tagger = trained_tagger(staff)
    rows = [
        {"doc_id": "a", "content": "Über the river a moron said the weather was fine"},
        {"doc_id": "b", "content": "we read the history book today"},
    ]
    write_jsonl(roots / "c.jsonl", rows)
    job = run_job(
        cleaning_job_create(
            user=staff,
            name="t",
            path="c.jsonl",
            text_field="content",
            id_field="doc_id",
            document_classifiers=[{"version": version.pk, "threshold": 1.0}],
            tagger={"version": tagger.pk, "threshold": 0.1},
            mask_mode=mode,
        )
    )
    assert job.status == "succeeded", job.error
    cleaned = {r["doc_id"]: r["content"] for r in outputs(job, "cleaned")}
    masked = "[REDACTED:toxic]" if mode == "replace" else ""
    assert cleaned["a"] == f"Über the river a {masked} said the weather was fine"
    assert cleaned["b"] == rows[1]["content"]
    attrs = {a["id"]: a for a in outputs(job, "attributes")}
    [span] = attrs["a"]["spans"]
    assert rows[0]["content"][span["start"] : span["end"]] == "moron" and span["masked"]
    assert attrs["a"]["decision"] == "mask" and attrs["b"]["decision"] == "keep"
    assert job.report is not None and job.report["masked_spans_by_label"] == {"toxic": 1}
