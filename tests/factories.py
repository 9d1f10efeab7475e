from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from generation.models import CandidateModel
from labeling.campaigns.prompt_import import text_hash
from labeling.models import Campaign, Item, Membership, Prompt, Rubric
from labeling.rubric import default_rubric


class UserFactory(factory.django.DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class RubricFactory(factory.django.DjangoModelFactory[Rubric]):
    class Meta:
        model = Rubric

    name = "default"
    schema = factory.LazyFunction(default_rubric)


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"campaign {n}")
    rubric = factory.SubFactory(RubricFactory)
    status = Campaign.Status.LABELING
    overlap = 3


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    campaign = factory.SubFactory(CampaignFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ANNOTATOR


class PromptFactory(factory.django.DjangoModelFactory[Prompt]):
    class Meta:
        model = Prompt

    campaign = factory.SubFactory(CampaignFactory)
    text = factory.Sequence(lambda n: f"Question number {n}?")
    text_sha256 = factory.LazyAttribute(lambda o: text_hash(o.text))
    split = Prompt.Split.PUBLIC


class CandidateModelFactory(factory.django.DjangoModelFactory[CandidateModel]):
    class Meta:
        model = CandidateModel
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"model-{n}")
    backend = CandidateModel.Backend.IMPORTED


class ItemFactory(factory.django.DjangoModelFactory[Item]):
    class Meta:
        model = Item

    prompt = factory.SubFactory(PromptFactory)
    campaign = factory.LazyAttribute(lambda o: o.prompt.campaign)
    model = factory.SubFactory(CandidateModelFactory)
    params_hash = "p0"
    sample_index = 0
    text = "The capital of France is Paris. Some people say otherwise."
    open_slots = factory.LazyAttribute(lambda o: o.campaign.overlap)


def valid_values(**overrides: Any) -> dict[str, Any]:
    """A complete answer to the default rubric."""
    values: dict[str, Any] = {
        "harm": "safe",
        "bias": "none",
        "truthfulness": "truthful",
        "informative": "yes",
        "fluency": 4,
    }
    values.update(overrides)
    return values
