"""A worker killed (SIGKILL) in the middle of a consensus refit, a scores refresh and a training
run, on PostgreSQL + Redis: the state it leaves is consistent, no flag stays set for good, and
the broker's redelivery of the same task (acks_late, reject_on_worker_lost) to a new worker
finishes the work.

Redis hands an unacknowledged message back after the visibility timeout; the workers here run
with CELERY_VISIBILITY_TIMEOUT=5 so that the redelivery comes within seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connections

from classifiers.models import ClassifierVersion, TrainingRun
from labeling.models import Campaign, Consensus, Item, QualityState, ScoreRefresh, ScoreSummary
from labeling.quality.consensus import consensus_refit
from labeling.quality.tasks import refit_consensus
from labeling.scores.tasks import refresh_scores
from tests.classifiers.helpers import labeled_campaign
from tests.factories import valid_values
from tests.labeling.factories_extra import campaign_with_items, member, submitted
from tests.worker import celery_worker, kill, wait_for

WORKER_ENV = {"CELERY_VISIBILITY_TIMEOUT": "5"}


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def _kill_when(worker: Any, started: Callable[[], bool], log: Path, what: str) -> None:
    """SIGKILL the worker the moment `started()` says the task is under way."""
    deadline = time.monotonic() + 120
    while not started():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never started\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.02)
    kill(worker)
    connections.close_all()  # the test's reads start afresh after the kill


def _labeled(n_items: int) -> Campaign:
    """Three annotators' labels written straight to the database (no votes, no refit yet)."""
    rng = random.Random(7)
    campaign = campaign_with_items(n_items, status="labeling")
    people = [member(campaign) for _ in range(3)]
    for item in Item.objects.filter(campaign=campaign):
        for user in people:
            harm = "unsafe" if rng.random() < 0.3 else "safe"
            extra = {"hazard": "hate"} if harm == "unsafe" else {}
            submitted(item, user, valid_values(harm=harm, fluency=rng.randint(1, 5), **extra))
    return campaign


def _finished(log: Path, task: str, task_id: str) -> bool:
    """The worker logged the task's end (it acknowledged the message just before)."""
    return f"Task {task}[{task_id}] succeeded" in log.read_text(errors="replace")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_refit_killed_midway_is_redelivered_and_finishes(tmp_path: Path) -> None:
    campaign = _labeled(150)
    log = tmp_path / "worker.log"
    with celery_worker(log, env=WORKER_ENV) as worker:
        task_id = refit_consensus.delay(campaign.pk).id
        _kill_when(
            worker,
            lambda: QualityState.objects.filter(
                campaign=campaign, refit_started_at__isnull=False
            ).exists(),
            log,
            "the refit",
        )
    state = QualityState.objects.get(campaign=campaign)
    assert state.report_at is None, "the refit finished before the kill"
    assert state.refit_owner == task_id  # the slot is held by the dead task...
    assert not Consensus.objects.filter(item__campaign=campaign).exists()  # ...nothing half-written

    with celery_worker(log, env=WORKER_ENV):
        wait_for(
            lambda: _finished(log, "labeling.refit_consensus", task_id),
            timeout=120,
            what="the redelivered refit",
            log=log,
        )
    state = QualityState.objects.get(campaign=campaign)
    assert state.report_at is not None and state.refit_started_at is None
    assert state.refit_owner == "" and state.last_error == ""
    n_items = Item.objects.filter(campaign=campaign).count()
    assert Consensus.objects.filter(item__campaign=campaign, dimension="harm").count() == n_items
    # Nothing stays flagged: a submit now schedules the next refit.
    assert consensus_refit(campaign_id=campaign.pk, report=False) is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_scores_refresh_killed_midway_is_redelivered_and_finishes(tmp_path: Path) -> None:
    campaign = _labeled(300)
    consensus_refit(campaign_id=campaign.pk, report=False)  # consensus labels to score
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # the refit asked for a refresh
    ScoreRefresh.objects.filter(campaign=campaign).update(pending=True)
    log = tmp_path / "worker.log"
    with celery_worker(log, env=WORKER_ENV) as worker:
        task_id = refresh_scores.delay(campaign.pk).id
        _kill_when(
            worker,
            lambda: ScoreRefresh.objects.filter(campaign=campaign, pending=False).exists(),
            log,
            "the refresh",
        )
    state = ScoreRefresh.objects.get(campaign=campaign)
    assert state.refreshed_at is None, "the refresh finished before the kill"
    assert not state.pending  # a new request may schedule one: no flag stuck
    assert not ScoreSummary.objects.filter(campaign=campaign).exists()

    with celery_worker(log, env=WORKER_ENV):
        wait_for(
            lambda: _finished(log, "labeling.refresh_scores", task_id),
            timeout=120,
            what="the redelivered refresh",
            log=log,
        )
    state = ScoreRefresh.objects.get(campaign=campaign)
    assert state.refreshed_at is not None and not state.pending
    assert ScoreSummary.objects.filter(campaign=campaign).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_training_run_killed_midway_is_redelivered_and_finishes(tmp_path: Path) -> None:
    from classifiers.services.runs import training_run_request

    campaign, _ = labeled_campaign(300)
    log = tmp_path / "worker.log"
    with celery_worker(log, env=WORKER_ENV) as worker:
        run = training_run_request(campaign=campaign, target="harm", backend="tfidf_logreg")
        _kill_when(
            worker,
            lambda: TrainingRun.objects.filter(pk=run.pk, status="running").exists(),
            log,
            "the training run",
        )
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING and run.task_id
    assert not ClassifierVersion.objects.filter(run=run).exists(), "it finished before the kill"

    with celery_worker(log, env=WORKER_ENV):
        wait_for(
            lambda: _finished(log, "classifiers.train_run", run.task_id),
            timeout=180,
            what="the redelivered training run",
            log=log,
        )
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    version = ClassifierVersion.objects.get(run=run)
    assert version.is_active
    assert not TrainingRun.objects.filter(campaign=campaign, status="running").exists()
