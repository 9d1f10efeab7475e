"""Scores API: per campaign, per model (examples), and the leaderboard; all read the summary."""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MAX_INT64, PAGE_PARAMS, ErrorSerializer, Pagination
from core.errors import DomainError
from labeling import access
from labeling.access import get_campaign
from labeling.scores.refresh import score_summary_request
from labeling.scores.selectors import (
    campaign_scores,
    campaigns_needing_refresh,
    leaderboard,
    leaderboard_filters,
    model_examples,
    model_scores,
    summary_status,
)
from labeling.scores.serializers import (
    CampaignScoresSerializer,
    ExamplePageSerializer,
    ExampleSerializer,
    LeaderboardPageSerializer,
    LeaderboardRowSerializer,
    ModelScoresResponseSerializer,
    SummaryStatusSerializer,
)

_DIMENSION_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _campaign_param(request: Request) -> int | None:
    raw = request.query_params.get("campaign")
    if raw in (None, ""):
        return None
    if not (raw.isascii() and raw.isdigit()):  # not "²", which isdigit() but int() refuses
        raise DomainError("campaign must be a campaign id", field="campaign")
    if len(raw) > 19 or int(raw) > MAX_INT64:  # no campaign has it; SQL would overflow on it
        raise Http404("no such campaign")
    return int(raw)


def _board_params(request: Request) -> dict[str, Any]:
    split = request.query_params.get("split", "all")
    if split not in ("all", "public", "private"):
        raise DomainError("split must be all, public or private", field="split")
    dimension = request.query_params.get("dimension", "harm")
    if not _DIMENSION_RE.match(dimension):
        raise DomainError("dimension must be a rubric dimension name", field="dimension")
    category = request.query_params.get("category", "")
    if len(category) > 200:
        raise DomainError("category is at most 200 characters", field="category")
    return {
        "split": split,
        "dimension": dimension,
        "category": category,
        "campaign_id": _campaign_param(request),
    }


class CampaignScoresApi(APIView):
    @extend_schema(
        responses=CampaignScoresSerializer,
        description="Per model: overall, per split and per prompt category, each dimension with "
        "its 95% interval, method, label counts, shared rank, paired comparisons and (for harm) "
        "the prediction-powered estimate. Read from the materialized summary; when consensus "
        "has changed since it was computed, `summary.stale` is true and a refresh is queued.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        state = summary_status(campaign)
        if state["stale"] and not state["pending"]:
            state["pending"] = score_summary_request(campaign_id=campaign.pk) or state["pending"]
        return Response(
            {"campaign_id": campaign.pk, "summary": state, "models": campaign_scores(campaign)}
        )


class CampaignScoresRefreshApi(APIView):
    @extend_schema(
        request=None,
        responses={202: SummaryStatusSerializer},
        description="Queue a refresh of the campaign's scores now (admins).",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        score_summary_request(campaign_id=campaign.pk, countdown=0)
        return Response(summary_status(campaign), status=status.HTTP_202_ACCEPTED)


class LeaderboardApi(APIView):
    @extend_schema(
        operation_id="leaderboard_list",
        parameters=[
            *PAGE_PARAMS,
            OpenApiParameter("campaign", int, description="only this campaign"),
            OpenApiParameter("split", str, enum=["all", "public", "private"]),
            OpenApiParameter("category", str, description="a prompt category; empty: all"),
            OpenApiParameter("dimension", str, description="the dimension to rank by (harm)"),
        ],
        responses={
            200: LeaderboardPageSerializer,
            404: OpenApiResponse(ErrorSerializer, description="no such campaign you may read"),
        },
        description="Models ranked per campaign on one dimension (shared ranks where 95% "
        "intervals overlap), from the campaigns whose scores you may read. Campaigns whose "
        "summary is missing or older than their last consensus refit get a refresh queued.",
    )
    def get(self, request: Request) -> Response:
        params = _board_params(request)
        paginator = Pagination()
        page = paginator.paginate_queryset(leaderboard(request.user, **params), request, self)
        assert page is not None
        response = paginator.get_paginated_response(LeaderboardRowSerializer(page, many=True).data)
        response.data["filters"] = leaderboard_filters(
            request.user, campaign_id=params["campaign_id"]
        )
        for campaign_id in campaigns_needing_refresh(
            request.user, campaign_id=params["campaign_id"]
        ):
            score_summary_request(campaign_id=campaign_id)
        return response


class ModelExamplesApi(APIView):
    @extend_schema(
        operation_id="models_examples_list",
        parameters=[*PAGE_PARAMS, OpenApiParameter("campaign", int, description="one campaign")],
        responses=ExamplePageSerializer,
        description="The model's outputs in campaigns you read; outputs of private prompts "
        "only in campaigns you administer.",
    )
    def get(self, request: Request, pk: int) -> Response:
        qs = model_examples(request.user, model_id=pk, campaign_id=_campaign_param(request))
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, self)
        assert page is not None
        return paginator.get_paginated_response(ExampleSerializer(page, many=True).data)


class ModelScoresApi(APIView):
    @extend_schema(responses=ModelScoresResponseSerializer)
    def get(self, request: Request, pk: int) -> Response:
        found = model_scores(request.user, model_id=pk)
        if found is None:
            raise Http404("no such model")
        return Response(found)
