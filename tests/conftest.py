from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from labeling.models import Campaign, Membership
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, UserFactory


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def campaign(db: Any) -> Campaign:
    return CampaignFactory.create()


@pytest.fixture
def people(campaign: Campaign) -> dict[str, Any]:
    """The four callers every endpoint is tested with."""
    admin = MembershipFactory.create(campaign=campaign, role=Membership.Role.ADMIN).user
    annotator = MembershipFactory.create(campaign=campaign, role=Membership.Role.ANNOTATOR).user
    viewer = MembershipFactory.create(campaign=campaign, role=Membership.Role.VIEWER).user
    outsider = MembershipFactory.create(role=Membership.Role.ANNOTATOR).user  # of another campaign
    staff = UserFactory.create(is_staff=True)
    return {
        "admin": admin,
        "annotator": annotator,
        "viewer": viewer,
        "outsider": outsider,
        "staff": staff,
    }


@pytest.fixture
def client_as(api: APIClient) -> Any:
    def login(user: Any | None) -> APIClient:
        api.force_authenticate(user=user)
        return api

    return login


@pytest.fixture
def items(campaign: Campaign) -> list[Any]:
    return [ItemFactory.create(campaign=campaign, prompt__campaign=campaign) for _ in range(5)]
