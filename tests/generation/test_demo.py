"""`load_demo` also loads a finished campaign of real ConvAbuse labels, once."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from classifiers.models import ClassifierVersion, TrainingRun
from generation.demo_convabuse import CAMPAIGN_NAME, read_slice
from generation.models import CandidateModel
from labeling.models import Annotation, Campaign, Item, ScoreSummary
from labeling.quality.consensus import consensus_refit
from labeling.scores.summary import score_summary_refresh
from tests.labeling.factories_extra import FAST_HASHERS


@pytest.fixture(autouse=True)
def _quiet_broker(settings: Any, monkeypatch: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    monkeypatch.setattr("celery.current_app.send_task", lambda *a, **kw: None)


@pytest.mark.django_db
def test_load_demo_loads_real_labels_once() -> None:
    out = StringIO()
    call_command("load_demo", "--no-generate", verbosity=0)
    campaign = Campaign.objects.get(name=CAMPAIGN_NAME)
    utterances = read_slice()
    labels = sum(len(u.labels) for u in utterances)
    assert campaign.status == Campaign.Status.LABELING
    assert Item.objects.filter(campaign=campaign).count() == len(utterances)
    assert Annotation.objects.filter(item__campaign=campaign).count() == labels
    models = set(Item.objects.filter(campaign=campaign).values_list("model__name", flat=True))
    assert models == {"ConvAbuse users of CarbonBot", "ConvAbuse users of E.L.I.Z.A."}
    assert campaign.memberships.filter(user__username="admin", role="admin").exists()

    call_command("load_demo", "--no-generate", verbosity=0)  # idempotent
    assert Campaign.objects.filter(name=CAMPAIGN_NAME).count() == 1
    assert Annotation.objects.filter(item__campaign=campaign).count() == labels
    assert CandidateModel.objects.filter(name__startswith="ConvAbuse").count() == 2

    # `make run` trains its classifier before the workers start (consensus is already there).
    call_command("train_classifier", "--all-due", stdout=out)
    version = ClassifierVersion.objects.get(campaign=campaign)
    assert version.is_active and version.target == "harm"
    assert version.n_predictions == Item.objects.filter(campaign=campaign).count()
    assert TrainingRun.objects.get(campaign=campaign).status == TrainingRun.Status.SUCCEEDED
    call_command("train_classifier", "--campaign", str(campaign.pk), "--if-due", stdout=out)
    assert "no training due" in out.getvalue()
    assert ClassifierVersion.objects.filter(campaign=campaign).count() == 1

    # What the default worker does after `make run` starts: real numbers on every page.
    assert consensus_refit(campaign_id=campaign.pk) is not None
    score_summary_refresh(campaign_id=campaign.pk)
    harm = ScoreSummary.objects.filter(
        campaign=campaign, dimension="harm", split="all", category=""
    )
    assert harm.count() == 2 and all(row.value is not None for row in harm)


@pytest.mark.django_db
def test_train_classifier_says_what_is_wrong() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not found"):
        call_command("train_classifier", "--campaign", "no such campaign")
    call_command("load_demo", "--no-generate", "--no-real-labels", verbosity=0)
    demo = Campaign.objects.exclude(name=CAMPAIGN_NAME).get()
    # No labels yet: the same refusal the API gives, with its field.
    with pytest.raises(CommandError, match="target: 0 labeled items"):
        call_command("train_classifier", "--campaign", str(demo.pk))
    assert not TrainingRun.objects.exists()
