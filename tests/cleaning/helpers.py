"""A trained harm classifier (TF-IDF, real) and small corpora in each input format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.test import TestCase
from django.test.utils import override_settings

from classifiers.models import ClassifierVersion, TrainingRun
from classifiers.services.runs import training_run_request
from labeling.models import Campaign, Membership
from tests.classifiers.helpers import hatexplain_rows, labeled_campaign
from tests.factories import MembershipFactory


def trained_version(admin: Any) -> ClassifierVersion:
    """A real TF-IDF harm classifier trained on 120 HateXplain posts; `admin` administers it."""
    campaign, _ = labeled_campaign(120)
    MembershipFactory.create(campaign=campaign, user=admin, role=Membership.Role.ADMIN)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        from assay.celery import app

        app.conf.task_always_eager = True
        try:
            with TestCase.captureOnCommitCallbacks(execute=True):
                run = training_run_request(campaign=campaign, target="harm", backend="tfidf_logreg")
        finally:
            app.conf.task_always_eager = False
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    return ClassifierVersion.objects.get(run=run)


def trained_tagger(admin: Any) -> ClassifierVersion:
    """A real lexicon span tagger trained from consensus spans; `admin` administers it."""
    from tests.classifiers.span_helpers import spans_campaign

    campaign, _ = spans_campaign(120)
    MembershipFactory.create(campaign=campaign, user=admin, role=Membership.Role.ADMIN)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        from assay.celery import app

        app.conf.task_always_eager = True
        try:
            with TestCase.captureOnCommitCallbacks(execute=True):
                run = training_run_request(
                    campaign=campaign, target="harmful_spans", backend="span_lexicon"
                )
        finally:
            app.conf.task_always_eager = False
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    return ClassifierVersion.objects.get(run=run)


def corpus_rows(n: int, offset: int = 200) -> list[dict[str, Any]]:
    rows = hatexplain_rows()[offset : offset + n]
    return [{"doc_id": f"d{i}", "content": r["text"], "meta": i} for i, r in enumerate(rows)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def campaign_of(version: ClassifierVersion) -> Campaign:
    return Campaign.objects.get(pk=version.campaign_id)
