"""Real labels: a ConvAbuse slice replayed through the service layer as its 8 annotators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.quality_convabuse import (
    build_campaign,
    direct_alpha,
    evaluate,
    read_utterances,
    replay,
)
from labeling.models import Annotation, Assignment, Consensus
from tests.labeling.factories_extra import FAST_HASHERS

SLICE = Path(__file__).resolve().parents[3] / "data" / "convabuse" / "ConvAbuseEMNLPvalid_slice.csv"


@pytest.fixture(autouse=True)
def _quiet_broker(settings: Any, monkeypatch: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    # The refit tells the classifier app to retrain by task name; no broker in this test.
    monkeypatch.setattr("celery.current_app.send_task", lambda *a, **kw: None)


@pytest.mark.django_db
def test_convabuse_alpha_matches_krippendorff_and_consensus_matches_the_majority() -> None:
    utterances = read_utterances([SLICE])
    assert len(utterances) >= 140
    labels = sum(len(u.labels) for u in utterances)
    campaign = build_campaign(utterances)
    counts = replay(campaign, utterances)
    # Every label arrived through next + submit, and nothing else did.
    assert counts["submitted"] == labels == Annotation.objects.count()
    assert Assignment.objects.filter(status="skipped").count() == counts["skipped"]
    result = evaluate(campaign, utterances)
    alpha = result["alpha"]
    assert alpha["binary"] == pytest.approx(direct_alpha(utterances, as_binary=True), abs=1e-9)
    assert alpha["severity"] == pytest.approx(direct_alpha(utterances, as_binary=False), abs=1e-9)
    # Binary abuse is far more reliable than the 5-level severity, as on the full data.
    assert alpha["binary"] > alpha["severity"]
    ds, majority = result["consensus"]["dawid_skene"], result["consensus"]["majority"]
    assert ds["items"] == majority["items"] == len(utterances)
    assert majority["agree_severity"] == 1.0  # a strict majority is what majority vote returns
    assert ds["agree_binary"] >= 0.9
    assert Consensus.objects.filter(campaign=campaign, method="dawid_skene").count() == len(
        utterances
    )
