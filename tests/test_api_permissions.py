"""Every API endpoint: who may call it (exact status per role), bad input, and query counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern
from django.utils import timezone
from rest_framework.test import APIClient

from classifiers.models import ClassifierVersion, ScoringRequest, TrainingRun
from cleaning.models import CleaningJob
from generation.models import CandidateModel, GenerationJob
from generation.services import generation_job_start
from labeling.models import Annotation, Assignment, Campaign, Item, Membership, Prompt
from labeling.queue.services import annotation_submit, assignment_next
from labeling.scores.summary import score_summary_refresh
from tests.factories import MembershipFactory, valid_values
from tests.labeling.factories_extra import (
    FAST_HASHERS,
    item_for,
    make_campaign,
    make_item,
    make_model,
    make_prompt,
    make_user,
    member,
)

ROLES = ("anonymous", "outsider", "annotator", "viewer", "admin", "staff")


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def delay() -> Any:
    """The broker edge: record what would have been sent to the `gpu` queue."""
    with mock.patch("generation.tasks.run_generation_job.delay") as recorder:
        yield recorder


@dataclass
class World:
    campaign: Campaign
    people: dict[str, Any]
    items: list[Item]
    gen_model: CandidateModel
    job: GenerationJob
    assignment: Assignment
    run: TrainingRun
    version: ClassifierVersion
    scoring: ScoringRequest
    cleaning_job: CleaningJob

    def ids(self) -> dict[str, int]:
        return {
            "campaign": self.campaign.pk,
            "model": self.items[0].model_id,
            "job": self.job.pk,
            "assignment": self.assignment.pk,
            "run": self.run.pk,
            "user": self.people["annotator"].pk,
            "version": self.version.pk,
            "scoring": self.scoring.pk,
            "cleaning_job": self.cleaning_job.pk,
        }


@pytest.fixture
def world(
    campaign: Campaign, people: dict[str, Any], items: list[Item], delay: Any, settings: Any
) -> World:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    make_prompt(campaign=campaign, split="private")
    gen_model = CandidateModel.objects.create(
        name="tiny-gen", backend="transformers", path="/models/tiny"
    )
    job = generation_job_start(campaign=campaign, model=gen_model, params={"max_new_tokens": 8})
    assignment = assignment_next(campaign=campaign, user=people["annotator"])
    assert assignment is not None
    run = TrainingRun.objects.create(
        campaign=campaign, target="harm", backend="tfidf_logreg", status="succeeded"
    )
    version = ClassifierVersion.objects.create(
        run=run, campaign=campaign, target="harm", name="v1", decision="first version"
    )
    # Asked by the campaign's admin: campaign readers may poll it, nobody else.
    scoring = ScoringRequest.objects.create(
        version=version, requested_by=people["admin"], texts=["a text"]
    )
    # Cleaning jobs are per user: the staff user's job is nobody else's.
    cleaning_job = CleaningJob.objects.create(
        owner=people["staff"],
        name="corpus",
        input_path="/nonexistent/corpus.jsonl",
        input_format="jsonl",
        text_field="text",
        id_field="id",
    )
    campaign.refresh_from_db()
    return World(
        campaign, people, items, gen_model, job, assignment, run, version, scoring, cleaning_job
    )


def _call(client: APIClient, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body or {}, format="json")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    route: str  # as in assay/urls.py, under /api/
    expected: dict[str, int]  # role -> status; anonymous is always 401 (WWW-Authenticate: Token)
    body: Callable[[World], dict[str, Any]] | None = None
    query: str = ""

    def url(self, w: World) -> str:
        path = (
            self.route.replace("<int:pk>", "{pk}")
            .replace("<int:user_id>", str(w.people["viewer"].pk))
            .replace("<int:item_id>", str(w.items[0].pk))
        )
        key = {
            "campaigns/": "campaign",
            "models/": "model",
            "jobs/": "job",
            "assignments/": "assignment",
            "classifier-runs/": "run",
            "users/": "user",
            "classifier-versions/": "version",
            "classifier-scorings/": "scoring",
            "cleaning/jobs/": "cleaning_job",
        }
        pk = next((w.ids()[v] for k, v in key.items() if self.route.startswith(k)), 0)
        return "/api/" + path.format(pk=pk) + self.query


def _roles(outsider: int, annotator: int, viewer: int, admin: int, staff: int) -> dict[str, int]:
    return {
        "outsider": outsider,
        "annotator": annotator,
        "viewer": viewer,
        "admin": admin,
        "staff": staff,
    }


EVERYONE_200 = _roles(200, 200, 200, 200, 200)
ADMIN_ONLY_200 = _roles(404, 403, 403, 200, 404)
READERS_200 = _roles(404, 403, 200, 200, 404)  # campaign admins and viewers
OWNER_ONLY = (404, 404, 404, 404)  # outsider, viewer, admin, staff: not their assignment

CASES = [
    Case("me", "get", "me/", EVERYONE_200),
    Case("default-rubric", "get", "rubrics/default/", EVERYONE_200),
    Case("campaign-list", "get", "campaigns/", EVERYONE_200),
    Case(
        "campaign-create",
        "post",
        "campaigns/",
        _roles(403, 403, 403, 403, 201),
        lambda w: {"name": "New campaign", "overlap": 2},
    ),
    Case("campaign-detail", "get", "campaigns/<int:pk>/", _roles(404, 200, 200, 200, 404)),
    Case(
        "campaign-update",
        "patch",
        "campaigns/<int:pk>/",
        ADMIN_ONLY_200,
        lambda w: {"name": "Renamed", "status": "closed"},
    ),
    Case("members-list", "get", "campaigns/<int:pk>/members/", ADMIN_ONLY_200),
    Case(
        "members-add",
        "post",
        "campaigns/<int:pk>/members/",
        _roles(404, 403, 403, 201, 404),
        lambda w: {"username": w.people["staff"].username, "role": "viewer"},
    ),
    Case(
        "members-remove",
        "delete",
        "campaigns/<int:pk>/members/<int:user_id>/",
        _roles(404, 403, 403, 204, 404),
    ),
    Case("prompts-list", "get", "campaigns/<int:pk>/prompts/", READERS_200),
    Case(
        "prompts-import",
        "post",
        "campaigns/<int:pk>/prompts/import/",
        _roles(404, 403, 403, 201, 404),
        lambda w: {"content": '{"text": "A brand new prompt?"}\n', "format": "jsonl"},
    ),
    Case("items-list", "get", "campaigns/<int:pk>/items/", ADMIN_ONLY_200),
    Case("next", "post", "campaigns/<int:pk>/next/", _roles(404, 200, 403, 200, 404)),
    Case("campaign-scores", "get", "campaigns/<int:pk>/scores/", READERS_200),
    Case(
        "campaign-scores-refresh",
        "post",
        "campaigns/<int:pk>/scores/refresh/",
        _roles(404, 403, 403, 202, 404),
    ),
    Case("leaderboard", "get", "leaderboard/", EVERYONE_200),
    Case("export", "get", "campaigns/<int:pk>/export/", READERS_200),
    Case("export-datasheet", "get", "campaigns/<int:pk>/export/datasheet/", READERS_200),
    Case("label-studio-config", "get", "campaigns/<int:pk>/label-studio/config/", READERS_200),
    Case(
        "label-studio-import",
        "post",
        "campaigns/<int:pk>/label-studio/import/",
        _roles(404, 403, 403, 201, 404),
        lambda w: {"tasks": []},
    ),
    Case("dashboard", "get", "campaigns/<int:pk>/dashboard/", READERS_200),
    Case("analytics status", "get", "campaigns/<int:pk>/analytics-status/", READERS_200),
    Case("my-progress", "get", "campaigns/<int:pk>/my-progress/", _roles(404, 200, 200, 200, 404)),
    Case("my-history", "get", "campaigns/<int:pk>/my-history/", _roles(404, 200, 403, 200, 404)),
    # Who was shown which held-out prompt: campaign admins only.
    Case("private-exposures", "get", "campaigns/<int:pk>/private-exposures/", ADMIN_ONLY_200),
    Case("jobs-list", "get", "campaigns/<int:pk>/jobs/", READERS_200),
    Case(
        "jobs-start",
        "post",
        "campaigns/<int:pk>/jobs/",
        _roles(404, 403, 403, 201, 404),
        lambda w: {"model": w.gen_model.pk, "params": {"temperature": 0.7}},
    ),
    Case(
        "submit",
        "post",
        "assignments/<int:pk>/submit/",
        _roles(404, 201, 404, 404, 404),
        lambda w: {"values": valid_values()},
    ),
    Case("skip", "post", "assignments/<int:pk>/skip/", _roles(404, 200, 404, 404, 404)),
    # Undo a skip (the world's lease is live: a no-op), edit a submission (not submitted: 409).
    Case("unskip", "post", "assignments/<int:pk>/unskip/", _roles(404, 200, 404, 404, 404)),
    Case(
        "edit",
        "post",
        "assignments/<int:pk>/edit/",
        _roles(404, 409, 404, 404, 404),
        lambda w: {"values": valid_values()},
    ),
    Case("model-list", "get", "models/", EVERYONE_200),
    Case(
        "model-create",
        "post",
        "models/",
        _roles(403, 403, 403, 403, 201),
        lambda w: {"name": "brought-outputs", "backend": "imported"},
    ),
    Case("model-detail", "get", "models/<int:pk>/", EVERYONE_200),
    Case(
        "model-test-connection",
        "post",
        "models/<int:pk>/test-connection/",
        _roles(403, 403, 403, 403, 400),  # staff: past the check, but not an HTTP model
    ),
    Case("model-scores", "get", "models/<int:pk>/scores/", EVERYONE_200),
    Case("model-examples", "get", "models/<int:pk>/examples/", EVERYONE_200),
    Case("job-detail", "get", "jobs/<int:pk>/", READERS_200),
    Case("job-restart", "post", "jobs/<int:pk>/restart/", ADMIN_ONLY_200),
    Case("job-cancel", "post", "jobs/<int:pk>/cancel/", ADMIN_ONLY_200),
    # Quality control: campaign admins only.
    Case("quality", "get", "campaigns/<int:pk>/quality/", ADMIN_ONLY_200),
    Case(
        "quality-refit",
        "post",
        "campaigns/<int:pk>/quality/refit/",
        _roles(404, 403, 403, 202, 404),
    ),
    Case(
        "review-queue", "get", "campaigns/<int:pk>/review/", ADMIN_ONLY_200, query="?dimension=harm"
    ),
    Case("review-item", "get", "campaigns/<int:pk>/review/<int:item_id>/", ADMIN_ONLY_200),
    Case(
        "adjudicate",
        "post",
        "campaigns/<int:pk>/review/<int:item_id>/adjudicate/",
        _roles(404, 403, 403, 201, 404),
        lambda w: {"dimension": "harm", "value": "unsafe", "note": "clear threat"},
    ),
    Case(
        "adjudicate-undo",
        "delete",
        "campaigns/<int:pk>/review/<int:item_id>/adjudicate/",
        _roles(404, 403, 403, 400, 404),  # admins: past the check, but nothing to undo
        query="?dimension=harm",
    ),
    Case(
        "gold-set",
        "put",
        "campaigns/<int:pk>/items/<int:item_id>/gold/",
        ADMIN_ONLY_200,
        lambda w: {"gold_values": {"harm": "safe"}},
    ),
    Case(
        "gold-unset",
        "delete",
        "campaigns/<int:pk>/items/<int:item_id>/gold/",
        ADMIN_ONLY_200,
    ),
    Case("gold-promote", "post", "campaigns/<int:pk>/gold/promote/", ADMIN_ONLY_200),
    Case(
        "member-resume",
        "post",
        "campaigns/<int:pk>/members/<int:user_id>/resume/",
        ADMIN_ONLY_200,
    ),
    # The harm classifier: campaign admins and viewers read, admins retrain.
    Case("classifier", "get", "campaigns/<int:pk>/classifier/", READERS_200),
    Case("classifier-runs", "get", "campaigns/<int:pk>/classifier/runs/", READERS_200),
    Case(
        "classifier-retrain",
        "post",
        "campaigns/<int:pk>/classifier/runs/",
        _roles(404, 403, 403, 400, 404),  # admins: past the check, but too few labels
        lambda w: {"target": "hazard", "backend": "tfidf_logreg"},
    ),
    Case("classifier-versions", "get", "campaigns/<int:pk>/classifier/versions/", READERS_200),
    Case(
        "classifier-predictions", "get", "campaigns/<int:pk>/classifier/predictions/", READERS_200
    ),
    Case("classifier-run", "get", "classifier-runs/<int:pk>/", READERS_200),
    # Care for annotators (labeling/care): those who label, and admins see exposure.
    Case("care", "get", "campaigns/<int:pk>/care/", _roles(404, 200, 403, 200, 404)),
    Case(
        "care-opt-outs",
        "patch",
        "campaigns/<int:pk>/care/",
        _roles(404, 200, 403, 200, 404),
        lambda w: {"hazard_opt_outs": []},
    ),
    Case(
        "care-acknowledge",
        "post",
        "campaigns/<int:pk>/care/acknowledge/",
        _roles(404, 400, 403, 400, 404),  # past the check, but the campaign has no warning
    ),
    Case("care-break", "post", "campaigns/<int:pk>/care/break/", _roles(404, 200, 403, 200, 404)),
    Case("care-exposure", "get", "campaigns/<int:pk>/care/exposure/", ADMIN_ONLY_200),
    Case("care-preferences", "get", "care/preferences/", EVERYONE_200),
    Case(
        "care-preferences-set",
        "put",
        "care/preferences/",
        EVERYONE_200,
        lambda w: {"blur_outputs": False},
    ),
    # Scoring texts with a classifier version: the campaign's admins and viewers.
    Case(
        "classifier-version-score",
        "post",
        "classifier-versions/<int:pk>/score/",
        _roles(404, 403, 400, 400, 404),  # readers: past the check, but no texts
        lambda w: {"texts": []},
    ),
    Case("classifier-scoring", "get", "classifier-scorings/<int:pk>/", READERS_200),
    # Cleaning jobs: anyone lists their own; staff start them; a job is its owner's alone.
    Case("cleaning-classifiers", "get", "cleaning/classifiers/", EVERYONE_200),
    Case("cleaning-jobs", "get", "cleaning/jobs/", EVERYONE_200),
    Case(
        "cleaning-job-create",
        "post",
        "cleaning/jobs/",
        _roles(403, 403, 403, 403, 400),  # staff: past the check, but no corpus
        lambda w: {"name": "x"},
    ),
    Case("cleaning-job", "get", "cleaning/jobs/<int:pk>/", _roles(404, 404, 404, 404, 200)),
    Case(
        "cleaning-job-start",
        "post",
        "cleaning/jobs/<int:pk>/start/",
        _roles(404, 404, 404, 404, 409),  # the owner: past the check, but the job is already queued
    ),
    Case(
        "cleaning-job-resume",
        "post",
        "cleaning/jobs/<int:pk>/resume/",
        _roles(404, 404, 404, 404, 200),
    ),
    Case(
        "cleaning-job-cancel",
        "post",
        "cleaning/jobs/<int:pk>/cancel/",
        _roles(404, 404, 404, 404, 200),
    ),
    Case(
        "cleaning-job-files",
        "get",
        # The owner too, until an audit is opened: it reports the audit's labels.
        "cleaning/jobs/<int:pk>/files/",
        _roles(404, 404, 404, 404, 200),
    ),
    # The owner too, until an audit is opened.
    Case("cleaning-audit", "get", "cleaning/jobs/<int:pk>/audit/", _roles(404, 404, 404, 404, 404)),
    Case(
        "cleaning-audit-open",
        "post",
        "cleaning/jobs/<int:pk>/audit/",
        _roles(404, 404, 404, 404, 409),  # the owner: the job has not finished
        lambda w: {},
    ),
    # Accounts: staff revoke anyone's API token (campaign admins are not staff).
    Case("user-tokens-revoke", "delete", "users/<int:pk>/tokens/", _roles(403, 403, 403, 403, 204)),
]

DOCS_ROUTES = {"schema/", "docs/", "redoc/"}


def test_every_api_route_has_a_permission_case() -> None:
    from assay.urls import api

    routes = {str(p.pattern) for p in api if isinstance(p, URLPattern)} - DOCS_ROUTES
    covered = {(c.route) for c in CASES} | {"auth/token/"}  # the token endpoint: see below
    assert routes == covered
    methods = {(c.route, c.method) for c in CASES}
    assert ("campaigns/<int:pk>/", "patch") in methods
    assert ("campaigns/<int:pk>/members/", "post") in methods


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_permissions(case: Case, role: str, world: World, client_as: Any) -> None:
    client = client_as(None if role == "anonymous" else world.people[role])
    body = case.body(world) if case.body else None
    r = _call(client, case.method, case.url(world), body)
    if role == "anonymous":
        assert r.status_code == 401, r.content
        assert r["WWW-Authenticate"] == "Token"
    else:
        assert r.status_code == case.expected[role], r.content


# --- what each caller sees -------------------------------------------------------------------


def test_campaign_list_shows_only_own_campaigns(world: World, client_as: Any) -> None:
    def names(role: str) -> set[str]:
        r = client_as(world.people[role]).get("/api/campaigns/")
        assert r.status_code == 200
        return {c["name"] for c in r.json()["results"]}

    for role in ("annotator", "viewer", "admin"):
        assert names(role) == {world.campaign.name}
    assert world.campaign.name not in names("outsider")
    assert names("staff") == set()
    roles = {
        c["id"]: c["role"]
        for c in client_as(world.people["viewer"]).get("/api/campaigns/").json()["results"]
    }
    assert roles == {world.campaign.pk: "viewer"}


def test_superuser_is_admin_of_every_campaign(world: World, client_as: Any) -> None:
    root = make_user(is_superuser=True, is_staff=True)
    api = client_as(root)
    assert api.get(f"/api/campaigns/{world.campaign.pk}/items/").status_code == 200
    listed = api.get("/api/campaigns/").json()["results"]
    assert {c["id"] for c in listed} >= {world.campaign.pk}
    assert {c["role"] for c in listed} == {"admin"}


def test_items_list_includes_private_items_and_filters_by_split(
    world: World, client_as: Any
) -> None:
    private = item_for(world.campaign, model=world.items[0].model, split="private")
    api = client_as(world.people["admin"])
    all_ids = {
        i["id"] for i in api.get(f"/api/campaigns/{world.campaign.pk}/items/").json()["results"]
    }
    assert private.pk in all_ids and len(all_ids) == 6
    r = api.get(f"/api/campaigns/{world.campaign.pk}/items/?split=private")
    assert [i["id"] for i in r.json()["results"]] == [private.pk]
    assert r.json()["results"][0]["split"] == "private"
    r = api.get(f"/api/campaigns/{world.campaign.pk}/items/?split=public")
    assert private.pk not in {i["id"] for i in r.json()["results"]}


def test_model_scores_list_only_campaigns_the_caller_reads(world: World, client_as: Any) -> None:
    model = world.items[0].model
    other = make_campaign(name="other campaign")
    item_for(other, model=model)
    for campaign in (world.campaign, other):
        score_summary_refresh(campaign_id=campaign.pk)
    # The viewer of `world.campaign` only annotates `other`: other's scores stay hidden.
    MembershipFactory(campaign=other, user=world.people["viewer"], role="annotator")
    MembershipFactory(campaign=other, user=world.people["admin"], role="viewer")

    def campaigns(role: str) -> list[str]:
        r = client_as(world.people[role]).get(f"/api/models/{model.pk}/scores/")
        assert r.status_code == 200, r.content
        assert r.json()["model_id"] == model.pk
        return sorted(row["campaign"] for row in r.json()["campaigns"])

    assert campaigns("admin") == sorted([world.campaign.name, "other campaign"])
    assert campaigns("viewer") == [world.campaign.name]
    assert campaigns("annotator") == []
    assert campaigns("outsider") == []
    assert campaigns("staff") == []


def test_campaign_scores_body(world: World, client_as: Any) -> None:
    score_summary_refresh(campaign_id=world.campaign.pk)
    r = client_as(world.people["viewer"]).get(f"/api/campaigns/{world.campaign.pk}/scores/")
    assert r.status_code == 200
    body = r.json()
    assert body["campaign_id"] == world.campaign.pk
    # The shared `items` fixture gives each of its five items its own model.
    assert {row["model_id"] for row in body["models"]} == {i.model_id for i in world.items}
    assert all(set(row) >= {"all", "public", "private"} for row in body["models"])


def test_token_endpoint(world: World) -> None:
    user = world.people["annotator"]
    api = APIClient()
    r = api.post("/api/auth/token/", {"username": user.username, "password": "pw"})
    assert r.status_code == 200, r.content
    token = r.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post(f"/api/campaigns/{world.campaign.pk}/next/").status_code == 200
    assert api.get(f"/api/campaigns/{world.campaign.pk}/items/").status_code == 403


@pytest.mark.parametrize(
    "body", [{"username": "user-that-is-not", "password": "pw"}, {"username": "x"}, {}]
)
def test_token_endpoint_bad_input(db: Any, body: dict[str, str]) -> None:
    make_user(username="known")
    r = APIClient().post("/api/auth/token/", body)
    assert r.status_code == 400
    assert "token" not in r.json()


def test_token_endpoint_wrong_password(db: Any) -> None:
    make_user(username="known")
    r = APIClient().post("/api/auth/token/", {"username": "known", "password": "nope"})
    assert r.status_code == 400
    assert r.json()["detail"] == "Unable to log in with provided credentials."
    assert r.json()["code"] == "invalid"


# --- bad input, one or more per endpoint ----------------------------------------------------


def _fields(r: Any) -> set[str]:
    """Field names an error response names: DomainError's `errors`, or DRF's own keys."""
    body = r.json()
    return set(body.get("errors", {})) | {k for k in body if k not in ("detail", "code", "errors")}


def _admin(w: World, client_as: Any) -> APIClient:
    client: APIClient = client_as(w.people["admin"])
    return client


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "overlap": 0}, "overlap"),
        ({"name": "x", "overlap": 51}, "overlap"),
        ({"name": "x", "gold_rate": 1.5}, "gold_rate"),
        ({"name": "x", "lease_minutes": 0}, "lease_minutes"),
        ({"overlap": 2}, "name"),
        (
            {"name": "x", "rubric": {"dimensions": [{"name": "h", "type": "stars"}]}},
            "rubric.dimensions[0].type",
        ),
        ({"name": "x", "rubric": {"dimensions": []}}, "rubric.dimensions"),
        ({"name": "x", "rubric": "default"}, "rubric"),
    ],
)
def test_campaign_create_bad_input(
    world: World, client_as: Any, body: dict[str, Any], field: str
) -> None:
    before = Campaign.objects.count()
    r = client_as(world.people["staff"]).post("/api/campaigns/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in _fields(r)
    assert Campaign.objects.count() == before


def test_campaign_create_makes_the_creator_admin(world: World, client_as: Any) -> None:
    staff = world.people["staff"]
    r = client_as(staff).post("/api/campaigns/", {"name": "Mine"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["role"] == "admin"
    assert r.json()["rubric"]["dimensions"][0]["name"] == "harm"
    campaign = Campaign.objects.get(pk=r.json()["id"])
    assert Membership.objects.get(campaign=campaign, user=staff).role == "admin"
    assert campaign.status == "draft" and campaign.overlap == 3


def test_campaign_detail_of_a_missing_campaign(world: World, client_as: Any) -> None:
    assert _admin(world, client_as).get("/api/campaigns/999999/").status_code == 404


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("labeling", "draft"),
        ("labeling", "generating"),
        ("draft", "generating"),
        ("closed", "draft"),
    ],
)
def test_campaign_update_illegal_status_transition(
    world: World, client_as: Any, start: str, target: str
) -> None:
    Campaign.objects.filter(pk=world.campaign.pk).update(status=start)
    r = _admin(world, client_as).patch(
        f"/api/campaigns/{world.campaign.pk}/", {"status": target}, format="json"
    )
    assert r.status_code == 400, r.content
    assert "status" in r.json()["errors"]
    world.campaign.refresh_from_db()
    assert world.campaign.status == start


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"overlap": 0}, "overlap"),
        ({"rubric": {"dimensions": [{"name": "h", "type": "stars"}]}}, "rubric"),
    ],
)
def test_campaign_update_bad_input(
    world: World, client_as: Any, body: dict[str, Any], field: str
) -> None:
    r = _admin(world, client_as).patch(f"/api/campaigns/{world.campaign.pk}/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in _fields(r)


def test_rubric_cannot_change_once_labeling_started(world: World, client_as: Any) -> None:
    r = _admin(world, client_as).patch(
        f"/api/campaigns/{world.campaign.pk}/",
        {"rubric": {"dimensions": [{"name": "ok", "type": "text", "label": "Ok"}]}},
        format="json",
    )
    assert r.status_code == 400, r.content
    assert "rubric" in r.json()["errors"]


def test_campaign_update_legal_changes(world: World, client_as: Any) -> None:
    url = f"/api/campaigns/{world.campaign.pk}/"
    api = _admin(world, client_as)
    r = api.patch(url, {"status": "closed", "overlap": 4}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["overlap"]) == ("closed", 4)
    leased = world.assignment.item_id
    slots = dict(Item.objects.values_list("id", "open_slots"))
    assert slots[leased] == 3 and {v for k, v in slots.items() if k != leased} == {4}
    assert api.patch(url, {"status": "labeling"}, format="json").status_code == 200


def test_lowering_then_raising_overlap_keeps_items_within_overlap(
    world: World, client_as: Any
) -> None:
    url = f"/api/campaigns/{world.campaign.pk}/"
    api = _admin(world, client_as)
    item = world.assignment.item  # the started item: `next` finishes it first
    for _ in range(2):  # two labels on the item, with overlap 3
        user = member(world.campaign)
        lease = assignment_next(campaign=world.campaign, user=user)
        assert lease is not None and lease.item_id == item.pk
        annotation_submit(assignment_id=lease.pk, user=user, values=valid_values())
    assert api.patch(url, {"overlap": 1}, format="json").status_code == 200
    assert api.patch(url, {"overlap": 2}, format="json").status_code == 200
    item.refresh_from_db()
    # Two labels and the annotator's live lease already, overlap 2: no slot is left.
    assert item.open_slots == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody-here", "role": "viewer"}, "username"),
        ({"role": "viewer"}, "username"),
        ({"username": "__staff__", "role": "owner"}, "role"),
    ],
)
def test_members_add_bad_input(
    world: World, client_as: Any, body: dict[str, Any], field: str
) -> None:
    if body.get("username") == "__staff__":
        body["username"] = world.people["staff"].username
    before = Membership.objects.count()
    r = _admin(world, client_as).post(
        f"/api/campaigns/{world.campaign.pk}/members/", body, format="json"
    )
    assert r.status_code == 400, r.content
    assert field in _fields(r)
    assert Membership.objects.count() == before


def test_members_add_changes_a_role(world: World, client_as: Any) -> None:
    api = _admin(world, client_as)
    url = f"/api/campaigns/{world.campaign.pk}/members/"
    annotator = world.people["annotator"]
    r = api.post(url, {"username": annotator.username, "role": "viewer"}, format="json")
    assert r.status_code == 201, r.content
    roles = {m["username"]: m["role"] for m in api.get(url).json()}
    assert roles[annotator.username] == "viewer"
    assert len(roles) == 3


def test_prompts_list_of_a_missing_campaign(world: World, client_as: Any) -> None:
    assert _admin(world, client_as).get("/api/campaigns/999999/prompts/").status_code == 404


def test_prompts_import_without_content(world: World, client_as: Any) -> None:
    r = _admin(world, client_as).post(
        f"/api/campaigns/{world.campaign.pk}/prompts/import/", {"format": "csv"}, format="json"
    )
    assert r.status_code == 400
    assert "file" in _fields(r)


def test_items_list_with_unknown_split(world: World, client_as: Any) -> None:
    r = _admin(world, client_as).get(f"/api/campaigns/{world.campaign.pk}/items/?split=nope")
    assert r.status_code == 400
    assert "split" in _fields(r)


def test_next_on_a_closed_campaign(world: World, client_as: Any) -> None:
    Campaign.objects.filter(pk=world.campaign.pk).update(status="closed")
    r = client_as(world.people["annotator"]).post(f"/api/campaigns/{world.campaign.pk}/next/")
    assert r.status_code == 409
    assert r.json()["code"] == "campaign_not_open"


def test_scores_of_a_missing_campaign(world: World, client_as: Any) -> None:
    assert _admin(world, client_as).get("/api/campaigns/999999/scores/").status_code == 404


def test_jobs_start_enqueues_the_job_on_commit(
    world: World, client_as: Any, delay: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Campaign.objects.filter(pk=world.campaign.pk).update(status="draft")
    delay.reset_mock()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = _admin(world, client_as).post(
            f"/api/campaigns/{world.campaign.pk}/jobs/",
            {"model": world.gen_model.pk, "params": {"temperature": 1, "samples_per_prompt": 2}},
            format="json",
        )
    assert r.status_code == 201, r.content
    job_id = r.json()["id"]
    assert len(callbacks) == 1
    delay.assert_called_once_with(job_id)
    job = GenerationJob.objects.get(pk=job_id)
    assert job.params["temperature"] == 1.0 and job.params["samples_per_prompt"] == 2
    assert job.status == "queued"
    world.campaign.refresh_from_db()
    assert world.campaign.status == "generating"


def test_jobs_start_does_not_enqueue_before_commit(
    world: World, client_as: Any, delay: Any
) -> None:
    delay.reset_mock()
    r = _admin(world, client_as).post(
        f"/api/campaigns/{world.campaign.pk}/jobs/",
        {"model": world.gen_model.pk, "params": {"seed": 3}},
        format="json",
    )
    assert r.status_code == 201, r.content
    delay.assert_not_called()  # the test transaction never commits


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"temperature": -1}, "params.temperature"),
        ({"temperature": "hot"}, "params.temperature"),
        ({"top_p": 1.5}, "params.top_p"),
        ({"max_new_tokens": 0}, "params.max_new_tokens"),
        ({"max_new_tokens": 8.5}, "params.max_new_tokens"),
        ({"samples_per_prompt": True}, "params.samples_per_prompt"),
        ({"beam_width": 4}, "params.beam_width"),
    ],
)
def test_jobs_start_bad_params(
    world: World, client_as: Any, delay: Any, params: dict[str, Any], field: str
) -> None:
    before = GenerationJob.objects.count()
    r = _admin(world, client_as).post(
        f"/api/campaigns/{world.campaign.pk}/jobs/",
        {"model": world.gen_model.pk, "params": params},
        format="json",
    )
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"]
    assert GenerationJob.objects.count() == before


@pytest.mark.parametrize("params", [[1, 2], "hot"])
def test_jobs_start_params_must_be_an_object(
    world: World, client_as: Any, delay: Any, params: Any
) -> None:
    client = _admin(world, client_as)
    client.raise_request_exception = False
    r = client.post(
        f"/api/campaigns/{world.campaign.pk}/jobs/",
        {"model": world.gen_model.pk, "params": params},
        format="json",
    )
    assert r.status_code == 400


def test_jobs_start_without_prompts(client_as: Any, delay: Any, db: Any) -> None:
    campaign = make_campaign(status="draft")
    admin = member(campaign, "admin")
    model = CandidateModel.objects.create(name="g", backend="transformers", path="/m")
    r = client_as(admin).post(
        f"/api/campaigns/{campaign.pk}/jobs/", {"model": model.pk}, format="json"
    )
    assert r.status_code == 400, r.content
    assert "campaign" in r.json()["errors"]
    assert not GenerationJob.objects.exists()


def test_jobs_start_with_an_imported_or_unknown_model(world: World, client_as: Any) -> None:
    url = f"/api/campaigns/{world.campaign.pk}/jobs/"
    api = _admin(world, client_as)
    r = api.post(url, {"model": world.items[0].model_id}, format="json")
    assert r.status_code == 400 and "model" in _fields(r)
    r = api.post(url, {"model": 999999}, format="json")
    assert r.status_code == 400 and "model" in _fields(r)


def test_jobs_start_on_a_closed_campaign(world: World, client_as: Any) -> None:
    Campaign.objects.filter(pk=world.campaign.pk).update(status="closed")
    r = _admin(world, client_as).post(
        f"/api/campaigns/{world.campaign.pk}/jobs/", {"model": world.gen_model.pk}, format="json"
    )
    assert r.status_code == 400 and "campaign" in _fields(r)


def test_job_restart_after_new_prompts_enqueues_again(
    world: World, client_as: Any, delay: Any, django_capture_on_commit_callbacks: Any
) -> None:
    GenerationJob.objects.filter(pk=world.job.pk).update(status="succeeded", done=2, total=2)
    make_prompt(campaign=world.campaign, text="Imported after the first run?")
    delay.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        r = _admin(world, client_as).post(f"/api/jobs/{world.job.pk}/restart/", {}, format="json")
    assert r.status_code == 200, r.content
    delay.assert_called_once_with(world.job.pk)


def _submit_url(w: World) -> str:
    return f"/api/assignments/{w.assignment.pk}/submit/"


def test_submit_on_someone_elses_assignment(world: World, client_as: Any) -> None:
    other = member(world.campaign)
    r = client_as(other).post(_submit_url(world), {"values": valid_values()}, format="json")
    assert r.status_code == 404
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": valid_values(fluency=0)}, "values.fluency"),
        ({"values": "safe"}, "values"),
        (
            {"values": valid_values(harmful_spans=[{"start": 0, "end": 3, "label": ["toxic"]}])},
            "values.harmful_spans",
        ),
        (
            {"values": valid_values(harmful_spans=[{"start": 0, "end": 3, "label": {"a": 1}}])},
            "values.harmful_spans",
        ),
        ({}, "values"),
        ({"values": valid_values(), "time_spent_ms": -5}, "time_spent_ms"),
        ({"values": valid_values(), "client_started_at": "yesterday"}, "client_started_at"),
    ],
)
def test_submit_bad_input(world: World, client_as: Any, body: dict[str, Any], field: str) -> None:
    r = client_as(world.people["annotator"]).post(_submit_url(world), body, format="json")
    assert r.status_code == 400, r.content
    assert field in _fields(r)
    assert not Annotation.objects.exists()


def test_submit_missing_assignment(world: World, client_as: Any) -> None:
    r = client_as(world.people["annotator"]).post(
        "/api/assignments/999999/submit/", {"values": valid_values()}, format="json"
    )
    assert r.status_code == 404


def test_skip_twice_is_idempotent_and_submit_after_skip_conflicts(
    world: World, client_as: Any
) -> None:
    api = client_as(world.people["annotator"])
    url = f"/api/assignments/{world.assignment.pk}/skip/"
    first, second = api.post(url), api.post(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json() == {"id": world.assignment.pk, "status": "skipped"}
    assert Item.objects.get(pk=world.assignment.item_id).open_slots == 3
    r = api.post(_submit_url(world), {"values": valid_values()}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "skipped"


def test_skip_after_submit_conflicts(world: World, client_as: Any) -> None:
    api = client_as(world.people["annotator"])
    assert api.post(_submit_url(world), {"values": valid_values()}, format="json").status_code == (
        201
    )
    r = api.post(f"/api/assignments/{world.assignment.pk}/skip/")
    assert r.status_code == 409


def test_skip_someone_elses_assignment(world: World, client_as: Any) -> None:
    r = client_as(member(world.campaign)).post(f"/api/assignments/{world.assignment.pk}/skip/")
    assert r.status_code == 404
    assert Assignment.objects.get(pk=world.assignment.pk).status == "active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "t", "backend": "transformers"}, "path"),
        ({"name": "t", "backend": "transformers", "path": ""}, "path"),
        ({"name": "t", "backend": "tgi", "path": "/m"}, "backend"),
        ({"backend": "imported"}, "name"),
        ({"name": "t", "backend": "imported", "default_decoding": [1]}, "default_decoding"),
    ],
)
def test_model_create_bad_input(
    world: World, client_as: Any, body: dict[str, Any], field: str
) -> None:
    before = CandidateModel.objects.count()
    r = client_as(world.people["staff"]).post("/api/models/", body, format="json")
    assert r.status_code == 400, r.content
    assert field in _fields(r)
    assert CandidateModel.objects.count() == before


BAD_DECODING = {"name": "t", "backend": "imported", "default_decoding": {"temperature": -1}}


def test_model_create_with_bad_default_decoding(world: World, client_as: Any) -> None:
    r = client_as(world.people["staff"]).post("/api/models/", BAD_DECODING, format="json")
    assert r.status_code == 400, r.content
    assert "must be between" in str(r.json())
    assert not CandidateModel.objects.filter(name="t").exists()


def test_model_create_bad_default_decoding_names_the_field(world: World, client_as: Any) -> None:
    r = client_as(world.people["staff"]).post("/api/models/", BAD_DECODING, format="json")
    assert r.status_code == 400
    assert any(f.startswith("default_decoding") for f in _fields(r)), r.json()


def test_model_create_duplicate_name(world: World, client_as: Any) -> None:
    r = client_as(world.people["staff"]).post(
        "/api/models/", {"name": world.gen_model.name, "backend": "imported"}, format="json"
    )
    assert r.status_code == 400 and "name" in _fields(r)


def test_model_create_transformers_with_path(world: World, client_as: Any) -> None:
    r = client_as(world.people["staff"]).post(
        "/api/models/",
        {"name": "t", "backend": "transformers", "path": "/m", "default_decoding": {"seed": 1}},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["revision"] == ""


@pytest.mark.parametrize(
    "route", ["models/999999/", "models/999999/scores/", "jobs/999999/", "jobs/999999/restart/"]
)
def test_missing_model_or_job(world: World, client_as: Any, route: str) -> None:
    api = _admin(world, client_as)
    r = api.post(f"/api/{route}") if route.endswith("restart/") else api.get(f"/api/{route}")
    assert r.status_code == 404


def test_job_restart_requeues_a_failed_job(
    world: World, client_as: Any, delay: Any, django_capture_on_commit_callbacks: Any
) -> None:
    GenerationJob.objects.filter(pk=world.job.pk).update(status="failed", error="boom")
    delay.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        r = _admin(world, client_as).post(f"/api/jobs/{world.job.pk}/restart/")
    assert r.status_code == 200, r.content
    assert (r.json()["id"], r.json()["status"], r.json()["error"]) == (world.job.pk, "queued", "")
    delay.assert_called_once_with(world.job.pk)


def _make_live(job: GenerationJob) -> None:
    GenerationJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())


def test_job_restart_of_a_live_job_conflicts(world: World, client_as: Any) -> None:
    _make_live(world.job)
    r = _admin(world, client_as).post(f"/api/jobs/{world.job.pk}/restart/")
    assert r.status_code == 409
    assert r.json()["code"] == "job_running"


def test_job_restart_with_force_takes_over_a_live_job(
    world: World, client_as: Any, delay: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _make_live(world.job)
    delay.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        r = _admin(world, client_as).post(
            f"/api/jobs/{world.job.pk}/restart/", {"force": True}, format="json"
        )
    assert r.status_code == 200, r.content
    delay.assert_called_once_with(world.job.pk)


def test_job_restart_of_a_stale_job(
    world: World, client_as: Any, delay: Any, settings: Any
) -> None:
    old = timezone.now() - timedelta(seconds=settings.ASSAY_JOB_STALE_SECONDS + 5)
    GenerationJob.objects.filter(pk=world.job.pk).update(status="running", heartbeat_at=old)
    r = _admin(world, client_as).post(f"/api/jobs/{world.job.pk}/restart/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "queued"


# --- query counts ----------------------------------------------------------------------------


def _count_queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries)


def _grow_campaigns(user: Any, n: int) -> None:
    for _ in range(n):
        MembershipFactory(user=user, role="viewer")


@pytest.mark.parametrize(
    ("url", "grow", "limit"),
    [
        ("/api/campaigns/", "campaigns", 4),
        ("/api/campaigns/{pk}/prompts/", "prompts", 5),
        ("/api/campaigns/{pk}/items/", "items", 5),
        ("/api/campaigns/{pk}/members/", "members", 4),
        ("/api/campaigns/{pk}/jobs/", "jobs", 4),
        ("/api/models/", "models", 1),
    ],
)
def test_list_query_count_does_not_grow(
    world: World,
    client_as: Any,
    django_assert_max_num_queries: Any,
    url: str,
    grow: str,
    limit: int,
) -> None:
    admin = world.people["admin"]
    api = client_as(admin)
    url = url.format(pk=world.campaign.pk)
    campaign = world.campaign

    def add(n: int) -> None:
        for i in range(n):
            if grow == "campaigns":
                _grow_campaigns(admin, 1)
            elif grow == "prompts":
                make_prompt(campaign=campaign, split="private" if i % 2 else "public")
            elif grow == "items":
                item_for(campaign, model=make_model())
            elif grow == "members":
                member(campaign, "viewer")
            elif grow == "jobs":
                model = CandidateModel.objects.create(
                    name=f"m-{GenerationJob.objects.count()}", backend="transformers", path="/m"
                )
                generation_job_start(campaign=campaign, model=model, params={})
            else:
                make_model()

    add(5)
    small = _count_queries(api, url)
    add(15)
    with django_assert_max_num_queries(limit):
        large = _count_queries(api, url)
    assert large == small


def test_model_scores_query_count_does_not_grow(world: World, client_as: Any) -> None:
    viewer = world.people["viewer"]
    model = world.items[0].model
    api = client_as(viewer)
    url = f"/api/models/{model.pk}/scores/"
    score_summary_refresh(campaign_id=world.campaign.pk)

    def add(n: int) -> None:
        for _ in range(n):
            campaign = make_campaign()
            MembershipFactory(campaign=campaign, user=viewer, role="viewer")
            make_item(campaign=campaign, prompt__campaign=campaign, model=model)
            score_summary_refresh(campaign_id=campaign.pk)

    add(2)
    small = _count_queries(api, url)
    add(8)
    assert len(api.get(url).json()["campaigns"]) == 11
    assert _count_queries(api, url) == small


def test_campaign_list_paginates(world: World, client_as: Any) -> None:
    admin = world.people["admin"]
    _grow_campaigns(admin, 4)
    r = client_as(admin).get("/api/campaigns/?limit=2&offset=1")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 5 and len(body["results"]) == 2
    assert body["next"] and body["previous"]


def test_prompt_counts_in_campaign_detail(world: World, client_as: Any) -> None:
    r = client_as(world.people["annotator"]).get(f"/api/campaigns/{world.campaign.pk}/")
    assert r.status_code == 200
    body = r.json()
    assert body["counts"] == {
        "prompts": Prompt.objects.filter(campaign=world.campaign).count(),
        "private_prompts": 1,
    }
    assert body["progress"]["items"] == 5
    assert body["role"] == "annotator"


def test_me_describes_the_caller(world: World, client_as: Any) -> None:
    staff = world.people["staff"]
    r = client_as(staff).get("/api/me/")
    assert r.status_code == 200
    assert r.json() == {
        "id": staff.pk,
        "username": staff.username,
        "is_staff": True,
        "is_superuser": False,
    }


def test_my_progress_counts_only_the_callers_work(world: World, client_as: Any) -> None:
    annotator = world.people["annotator"]
    annotation_submit(assignment_id=world.assignment.pk, user=annotator, values=valid_values())
    url = f"/api/campaigns/{world.campaign.pk}/my-progress/"
    assert client_as(annotator).get(url).json() == {
        "done": 1,
        "available": 4,
        "available_capped": False,
        "generating": None,
    }
    assert client_as(world.people["viewer"]).get(url).json() == {
        "done": 0,
        "available": 5,
        "available_capped": False,
        "generating": None,
    }
    assert client_as(annotator).get("/api/campaigns/999999/my-progress/").status_code == 404


def test_dashboard_counts_per_annotator(world: World, client_as: Any) -> None:
    annotator = world.people["annotator"]
    annotation_submit(
        assignment_id=world.assignment.pk,
        user=annotator,
        values=valid_values(),
        time_spent_ms=4000,
    )
    other = member(world.campaign)
    lease = assignment_next(campaign=world.campaign, user=other)
    assert lease is not None
    r = client_as(world.people["viewer"]).get(f"/api/campaigns/{world.campaign.pk}/dashboard/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["progress"]["annotations"] == 1
    assert len(body["throughput"]) == 48
    assert sum(h["annotations"] for h in body["throughput"]) == 1
    stats = {a["username"]: a for a in body["annotators"]}
    assert stats[annotator.username]["submitted"] == 1
    assert stats[annotator.username]["median_seconds"] == 4.0
    assert (stats[other.username]["active"], stats[other.username]["submitted"]) == (1, 0)
    assert _admin(world, client_as).get("/api/campaigns/999999/dashboard/").status_code == 404


def test_dashboard_query_count_does_not_grow(world: World, client_as: Any) -> None:
    api = _admin(world, client_as)
    url = f"/api/campaigns/{world.campaign.pk}/dashboard/"

    def add(n: int) -> None:
        for _ in range(n):
            user = member(world.campaign)
            lease = assignment_next(campaign=world.campaign, user=user)
            assert lease is not None
            annotation_submit(
                assignment_id=lease.pk, user=user, values=valid_values(), time_spent_ms=1000
            )

    add(2)
    small = _count_queries(api, url)
    add(8)
    assert _count_queries(api, url) == small <= 8
