"""Typed builders the labeling tests share (the shared factories stay untouched).

factory_boy's stubs type `CampaignFactory()` as the factory, not the model: these wrappers
give mypy the model type.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.utils import timezone

from generation.models import CandidateModel
from labeling.models import (
    Annotation,
    Assignment,
    Campaign,
    Consensus,
    Item,
    Membership,
    Prompt,
)
from tests.factories import (
    CampaignFactory,
    CandidateModelFactory,
    ItemFactory,
    MembershipFactory,
    PromptFactory,
    UserFactory,
)

# The factories hash a password per user; the default PBKDF2 costs ~0.5 s each.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_campaign(**kwargs: Any) -> Campaign:
    return cast(Campaign, CampaignFactory(**kwargs))


def make_item(**kwargs: Any) -> Item:
    return cast(Item, ItemFactory(**kwargs))


def make_prompt(**kwargs: Any) -> Prompt:
    return cast(Prompt, PromptFactory(**kwargs))


def make_model(**kwargs: Any) -> CandidateModel:
    return cast(CandidateModel, CandidateModelFactory(**kwargs))


def make_user(**kwargs: Any) -> Any:
    return UserFactory(**kwargs)


def campaign_with_items(n_items: int, *, overlap: int = 3, **kwargs: Any) -> Campaign:
    campaign = make_campaign(overlap=overlap, **kwargs)
    for _ in range(n_items):
        make_item(campaign=campaign, prompt__campaign=campaign)
    return campaign


def member(campaign: Campaign, role: str = Membership.Role.ANNOTATOR) -> Any:
    return MembershipFactory(campaign=campaign, role=role).user


def item_for(campaign: Campaign, *, model: Any, split: str = "public", **kwargs: Any) -> Item:
    """An item of `model` on a new prompt of the campaign in `split`."""
    prompt = make_prompt(campaign=campaign, split=split)
    return make_item(campaign=campaign, prompt=prompt, model=model, **kwargs)


def agree(item: Item, **values: Any) -> None:
    """The item's consensus on each dimension given, as the quality service would store it."""
    for dimension, value in values.items():
        Consensus.objects.create(
            campaign=item.campaign,
            item=item,
            dimension=dimension,
            value=value,
            confidence=1.0,
            method="majority",
            n_labels=3,
        )


def submitted(item: Item, annotator: Any, values: dict[str, Any], **fields: Any) -> Annotation:
    """A submitted assignment and its annotation, written straight to the database (no rubric
    check, no consensus vote): labels in place for tests of what reads them."""
    now = timezone.now()
    assignment = Assignment.objects.create(
        campaign=item.campaign,
        item=item,
        annotator=annotator,
        status="submitted",
        leased_at=now,
        expires_at=now + timedelta(minutes=5),
        finished_at=now,
    )
    return Annotation.objects.create(
        item=item, annotator=annotator, assignment=assignment, values=values, **fields
    )
