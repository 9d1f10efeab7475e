"""The harm classifier's API: overview, training runs (and the retrain button), versions and
the active version's predictions. Admins and viewers read; admins start runs."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classifiers import selectors as sel
from classifiers import serializers as s
from classifiers.backends.base import DOCUMENT, SPAN_TAGGER
from classifiers.services.runs import (
    HYPERPARAMETERS,
    labeled_count,
    new_labels_since_last_run,
    training_run_request,
    validate_hyperparameters,
)
from classifiers.services.scoring import scoring_request_create
from core.api import PAGE_PARAMS, Pagination
from core.errors import DomainError
from core.schema import conflict
from labeling import access
from labeling.access import get_campaign
from labeling.models import Campaign
from labeling.quality.selectors import choice_dimensions

READERS = (access.ADMIN, access.VIEWER)


def _target_row(
    campaign: Campaign, name: str, classes: list[str], kind: str = DOCUMENT
) -> dict[str, Any]:
    return {
        "name": name,
        "kind": kind,
        "classes": classes,
        "labels": labeled_count(campaign, name, kind),
        "new_labels": new_labels_since_last_run(campaign, name),
        "in_progress": sel.run_is_in_progress(campaign, name),
        "active_version": sel.active_version(campaign, name),
    }


class ClassifierOverviewApi(APIView):
    @extend_schema(responses=s.ClassifierOverviewSerializer)
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, READERS)
        data = {
            "primary_target": sel.primary_target(campaign),
            "queue_strategy": campaign.queue_strategy,
            "random_share": campaign.random_share,
            "retrain_every": campaign.retrain_every,
            "backends": list(HYPERPARAMETERS),
            "targets": [
                *(
                    _target_row(campaign, name, classes)
                    for name, classes in choice_dimensions(campaign).items()
                ),
                *(
                    _target_row(campaign, name, labels, SPAN_TAGGER)
                    for name, labels in sel.span_dimensions(campaign).items()
                ),
            ],
        }
        return Response(s.ClassifierOverviewSerializer(data).data)


class TrainingRunListApi(APIView):
    @extend_schema(parameters=PAGE_PARAMS, responses=s.TrainingRunPageSerializer)
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, READERS)
        paginator = Pagination()
        page = paginator.paginate_queryset(sel.runs_for_campaign(campaign), request, self)
        return paginator.get_paginated_response(s.TrainingRunSerializer(page, many=True).data)

    @extend_schema(
        request=s.RunRequestSerializer,
        responses={
            201: s.TrainingRunDetailSerializer,
            409: conflict("a run for the same target is queued or running"),
        },
        description="Retrain now. 409 while a run for the same target is queued or running.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = s.RunRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        backend = ser.validated_data["backend"]
        params = validate_hyperparameters(backend, ser.validated_data.get("hyperparameters"))
        run = training_run_request(
            campaign=campaign,
            target=ser.validated_data["target"],
            backend=backend,
            user=access.signed_in(request),
            hyperparameters=params,
        )
        run = sel.run_detail(run.pk) or run
        return Response(s.TrainingRunDetailSerializer(run).data, status=status.HTTP_201_CREATED)


class TrainingRunDetailApi(APIView):
    @extend_schema(responses=s.TrainingRunDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = sel.run_detail(pk)
        if run is None:
            raise Http404("no such training run")
        get_campaign(request, run.campaign_id, READERS)
        return Response(s.TrainingRunDetailSerializer(run).data)


class ClassifierVersionListApi(APIView):
    @extend_schema(responses=s.ClassifierVersionSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, READERS)
        versions = sel.versions_for_campaign(campaign)[:200]
        return Response(s.ClassifierVersionSerializer(versions, many=True).data)


class PredictionListApi(APIView):
    @extend_schema(
        parameters=[
            *PAGE_PARAMS,
            OpenApiParameter("target", str, description="default: the primary target (harm)"),
        ],
        responses=s.PredictionPageSerializer,
        description="The active version's predictions, most probably positive first. Items of "
        "private prompts are listed to admins only.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, READERS)
        target = request.query_params.get("target") or sel.primary_target(campaign)
        if target not in choice_dimensions(campaign):
            raise DomainError("not a choice dimension of this campaign's rubric", field="target")
        version = sel.active_version(campaign, target)
        paginator = Pagination()
        if version is None:
            page: list[Any] = paginator.paginate_queryset([], request, self) or []
        else:
            is_admin = access.campaign_role(request.user, campaign) == access.ADMIN
            qs = sel.active_predictions(version, is_admin=is_admin)
            page = paginator.paginate_queryset(qs, request, self) or []
        return paginator.get_paginated_response(s.PredictionSerializer(page, many=True).data)


class ScoreTextsApi(APIView):
    @extend_schema(
        request=s.ScoreTextsRequestSerializer,
        responses={201: s.ScoringRequestSerializer},
        description="Score up to 64 texts with this version. A lexicon tagger answers at once "
        "(status succeeded); other versions run on a worker: poll the returned request. "
        "Results follow the texts' order; a document classifier's probabilities name their "
        "classes (`classes` gives the order).",
    )
    def post(self, request: Request, pk: int) -> Response:
        version = sel.version_for_user(pk)
        if version is None:
            raise Http404("no such classifier version")
        get_campaign(request, version.campaign_id, READERS)
        texts = request.data.get("texts") if isinstance(request.data, dict) else None
        req = scoring_request_create(version=version, texts=texts, user=access.signed_in(request))
        req = sel.scoring_request(req.pk) or req
        return Response(s.ScoringRequestSerializer(req).data, status=status.HTTP_201_CREATED)


class ScoringRequestDetailApi(APIView):
    @extend_schema(responses=s.ScoringRequestSerializer)
    def get(self, request: Request, pk: int) -> Response:
        req = sel.scoring_request(pk)
        if req is None:
            raise Http404("no such scoring request")
        get_campaign(request, req.version.campaign_id, READERS)
        return Response(s.ScoringRequestSerializer(req).data)
