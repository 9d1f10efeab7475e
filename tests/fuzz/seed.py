"""The world the fuzzer runs in: a campaign with items, members, labels, a job and a run, so
that the ids the fuzzer puts in paths exist and its requests reach the code behind the checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from classifiers.models import ScoringRequest, TrainingRun
from generation.models import GenerationJob
from labeling.models import Item, Membership, Prompt
from tests.cleaning.helpers import trained_tagger
from tests.factories import (
    CampaignFactory,
    CandidateModelFactory,
    ItemFactory,
    MembershipFactory,
    PromptFactory,
    UserFactory,
    valid_values,
)

N_ITEMS = 60  # enough open slots for the annotator's submits (overlap 3)


@dataclass
class World:
    tokens: dict[str, str]  # role -> token key
    user_ids: dict[str, int]
    campaign: int
    items: list[int]
    member: int  # a helper annotator: the user the member endpoints act on
    model: int
    job: int
    run: int
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = 0  # a classifier version (a span tagger)
    scoring: int = 0  # a scoring request of it
    cleaning_job: int = 0


def _member(campaign: Any, role: str, username: str, **user: Any) -> Any:
    return MembershipFactory.create(
        campaign=campaign, role=role, user=UserFactory.create(username=username, **user)
    ).user


def seed_world() -> World:
    campaign = CampaignFactory.create(name="fuzzed", overlap=3, gold_rate=0.0)
    admin = _member(campaign, Membership.Role.ADMIN, "fuzz-admin", is_staff=True)
    annotator = _member(campaign, Membership.Role.ANNOTATOR, "fuzz-annotator")
    helpers = [_member(campaign, Membership.Role.ANNOTATOR, f"fuzz-helper{i}") for i in range(2)]
    _member(campaign, Membership.Role.VIEWER, "fuzz-viewer")
    models = [CandidateModelFactory.create(name=f"fuzz-model-{i}") for i in range(2)]
    items: list[Item] = []
    for i in range(N_ITEMS):
        split = Prompt.Split.PRIVATE if i % 5 == 4 else Prompt.Split.PUBLIC
        prompt = PromptFactory.create(campaign=campaign, split=split, category=f"cat{i % 3}")
        items.append(ItemFactory.create(campaign=campaign, prompt=prompt, model=models[i % 2]))
    _label_some(campaign.pk, helpers, n=12)
    job = GenerationJob.objects.create(
        campaign=campaign,
        model=models[0],
        params={"max_new_tokens": 8},
        params_hash="fuzz",
        status=GenerationJob.Status.SUCCEEDED,
        done=N_ITEMS // 2,
        total=N_ITEMS // 2,
        finished_at=timezone.now(),
    )
    run = TrainingRun.objects.create(
        campaign=campaign, target="harm", backend="tfidf_logreg", requested_by=admin
    )
    # A trained span tagger (its own campaign, administered by the admin), a scoring request
    # of it, and a cleaning job over a small corpus (waiting for its preview: no worker runs).
    tagger = trained_tagger(admin)
    scoring = ScoringRequest.objects.create(
        version=tagger, requested_by=admin, texts=["a text to score"]
    )
    cleaning_job = _cleaning_job(admin, tagger)
    # The other campaign: ids of objects the fuzzing users may not touch.
    other = CampaignFactory.create(name="not yours")
    other_item = ItemFactory.create(campaign=other, prompt__campaign=other, model=models[1])
    return World(
        tokens={
            "admin": Token.objects.create(user=admin).key,
            "annotator": Token.objects.create(user=annotator).key,
        },
        user_ids={"admin": admin.pk, "annotator": annotator.pk},
        campaign=campaign.pk,
        items=[item.pk for item in items],
        member=helpers[1].pk,
        model=models[0].pk,
        job=job.pk,
        run=run.pk,
        extra={"other_campaign": other.pk, "other_item": other_item.pk},
        version=tagger.pk,
        scoring=scoring.pk,
        cleaning_job=cleaning_job.pk,
    )


def _cleaning_job(admin: Any, tagger: Any) -> Any:
    from django.conf import settings

    from cleaning.services import cleaning_job_create
    from tests.cleaning.helpers import corpus_rows, write_jsonl

    root = Path(settings.ASSAY_CLEANING_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "fuzz.jsonl", corpus_rows(20))
    return cleaning_job_create(
        user=admin,
        name="fuzzed",
        path="fuzz.jsonl",
        text_field="content",
        id_field="doc_id",
        document_classifiers=[],
        tagger={"version": tagger.pk, "threshold": 0.5},
        start=False,
    )


def _label_some(campaign_id: int, helpers: list[Any], *, n: int) -> None:
    """Labels through the API (votes, consensus rows, refit flags): the review and quality pages
    then have data."""
    for k, user in enumerate(helpers):
        client = APIClient()
        client.force_authenticate(user)
        for j in range(n):
            lease = client.post(f"/api/campaigns/{campaign_id}/next/").json()["assignment"]
            if lease is None:
                break
            harm = "unsafe" if (j + k) % 3 == 0 else "safe"
            extra = {"hazard": "hate"} if harm == "unsafe" else {}
            r = client.post(
                f"/api/assignments/{lease['id']}/submit/",
                {"values": valid_values(harm=harm, **extra)},
                format="json",
            )
            assert r.status_code == 201, r.content
