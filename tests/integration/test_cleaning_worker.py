"""A cleaning job on a real Celery worker that is SIGKILLed mid-shard: a new worker takes the
dead shard over once its heartbeat is stale (sent again by resend_stale, as `clean_corpus
--wait` and the sweep task do), its partial output is discarded, finished shards are not
redone, and the output holds every document exactly once."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test.utils import override_settings

from cleaning.models import CleaningJob, CleaningShard
from cleaning.services import cleaning_job_create, resend_stale
from tests.classifiers.helpers import hatexplain_rows
from tests.cleaning.helpers import trained_version
from tests.factories import UserFactory
from tests.worker import celery_worker, kill, wait_for

STALE_S = 10


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_shard_leaves_no_missing_or_duplicated_documents(
    tmp_path: Path,
) -> None:
    root, out = tmp_path / "corpora", tmp_path / "out"
    root.mkdir()
    texts = [r["text"] for r in hatexplain_rows()]
    n = 12_000
    with (root / "c.jsonl").open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"d{i}", "text": texts[i % len(texts)]}) + "\n")
    env = {
        "ASSAY_CLEANING_ROOT": str(root),
        "ASSAY_CLEANING_OUTPUT_DIR": str(out),
        "ASSAY_JOB_STALE_SECONDS": str(STALE_S),
    }
    staff: Any = UserFactory.create(is_staff=True)
    version = trained_version(staff)
    log = tmp_path / "worker.log"
    with override_settings(
        ASSAY_CLEANING_ROOT=str(root),
        ASSAY_CLEANING_OUTPUT_DIR=str(out),
        ASSAY_JOB_STALE_SECONDS=STALE_S,
    ):
        with celery_worker(log, queues="default", env=env) as worker:
            job = cleaning_job_create(
                user=staff,
                name="kill",
                path="c.jsonl",
                text_field="text",
                id_field="id",
                document_classifiers=[{"version": version.pk, "threshold": 0.5}],
                shard_size=1500,
            )

            def one_done_one_running() -> bool:
                shards = CleaningShard.objects.filter(job=job)
                return (
                    shards.filter(status="succeeded").exists()
                    and shards.filter(status="running", done__gt=0).exists()
                )

            wait_for(one_done_one_running, timeout=300, what="a shard under way", log=log)
            kill(worker)
            connections.close_all()
        dead = CleaningShard.objects.get(job=job, status="running")
        finished = {
            s.pk: s.finished_at for s in CleaningShard.objects.filter(job=job, status="succeeded")
        }
        with celery_worker(log, queues="default", env=env, purge=False):
            deadline = time.monotonic() + 600
            while CleaningJob.objects.get(pk=job.pk).status == "running":
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
                resend_stale(job.pk)
                time.sleep(2)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    dead.refresh_from_db()
    assert dead.status == "succeeded" and dead.attempts >= 2
    for s in CleaningShard.objects.filter(pk__in=finished):
        assert s.finished_at == finished[s.pk] and s.attempts == 1  # never redone
    seen: dict[str, int] = {}
    for kind in ("cleaned", "removed"):
        for p in sorted((out / f"job-{job.pk}" / kind).iterdir()):
            assert not p.name.startswith("."), f"a temporary file was left: {p}"
            for line in p.open():
                doc = json.loads(line)["id"]
                seen[doc] = seen.get(doc, 0) + 1
    assert set(seen) == {f"d{i}" for i in range(n)}
    assert all(c == 1 for c in seen.values())
