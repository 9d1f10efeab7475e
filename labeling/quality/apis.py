"""Quality-control API (admins only): agreement and annotator quality, the review queue,
adjudication, gold items and resuming a paused annotator."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PAGE_PARAMS, Pagination
from core.errors import DomainError
from labeling import access
from labeling.access import get_campaign
from labeling.quality import gold, review
from labeling.quality import serializers as s
from labeling.quality.consensus import schedule_refit
from labeling.quality.selectors import quality_overview, review_item, review_queue

ADMIN_ONLY = (access.ADMIN,)


class QualityApi(APIView):
    @extend_schema(
        operation_id="campaigns_quality",
        responses=s.QualityOverviewSerializer,
        description="Agreement per dimension (Krippendorff's alpha with a bootstrap 95% "
        "interval, overall and per prompt category; pairwise Cohen's kappa) and annotator "
        "quality, as of the last refit.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        return Response(s.QualityOverviewSerializer(quality_overview(campaign)).data)


class QualityRefitApi(APIView):
    @extend_schema(request=None, responses={202: s.RefitSerializer})
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        scheduled = schedule_refit(campaign.pk)
        return Response({"scheduled": scheduled}, status=status.HTTP_202_ACCEPTED)


class ReviewQueueApi(APIView):
    @extend_schema(
        operation_id="campaigns_review_list",
        parameters=[
            OpenApiParameter("dimension", str, required=True),
            OpenApiParameter("include_resolved", bool, description="also gold and adjudicated"),
            *PAGE_PARAMS,
        ],
        responses=s.ReviewPageSerializer,
        description="Items of one dimension, least confident consensus (most disagreement) first.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        dimension = request.query_params.get("dimension", "")
        names = [d["name"] for d in campaign.rubric.schema["dimensions"] if d["type"] != "text"]
        if dimension not in names:
            raise DomainError(f"dimension must be one of {names}", field="dimension")
        resolved = request.query_params.get("include_resolved", "false")
        if resolved not in ("true", "false"):
            raise DomainError("include_resolved must be true or false", field="include_resolved")
        qs = review_queue(campaign, dimension, include_resolved=resolved == "true")
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request)
        return paginator.get_paginated_response(s.ReviewRowSerializer(page, many=True).data)


class ReviewItemApi(APIView):
    @extend_schema(responses=s.ReviewItemDetailSerializer)
    def get(self, request: Request, pk: int, item_id: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        found = review_item(campaign, item_id)
        if found is None:
            raise Http404("no such item in this campaign")
        return Response(s.ReviewItemDetailSerializer(found).data)


class AdjudicateApi(APIView):
    @extend_schema(request=s.AdjudicateSerializer, responses={201: s.AdjudicationSerializer})
    def post(self, request: Request, pk: int, item_id: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        ser = s.AdjudicateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        adjudication = review.adjudicate(
            campaign=campaign, item_id=item_id, user=access.signed_in(request), **ser.validated_data
        )
        data = s.AdjudicationSerializer(adjudication).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("dimension", str, required=True)],
        responses={204: None},
        description="Undo the adjudication: the item's consensus is re-voted from its labels.",
    )
    def delete(self, request: Request, pk: int, item_id: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        dimension = request.query_params.get("dimension", "")
        review.adjudication_undo(campaign=campaign, item_id=item_id, dimension=dimension)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GoldItemApi(APIView):
    @extend_schema(request=s.GoldSerializer, responses={200: s.GoldItemSerializer})
    def put(self, request: Request, pk: int, item_id: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        ser = s.GoldSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = gold.item_mark_gold(
            campaign=campaign, item_id=item_id, gold_values=ser.validated_data["gold_values"]
        )
        return Response(s.GoldItemSerializer(item).data)

    @extend_schema(request=None, responses={200: s.GoldItemSerializer})
    def delete(self, request: Request, pk: int, item_id: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        item = gold.item_unmark_gold(campaign=campaign, item_id=item_id)
        return Response(s.GoldItemSerializer(item).data)


class GoldPromoteApi(APIView):
    @extend_schema(
        request=s.PromoteSerializer,
        responses=s.PromotedSerializer,
        description="Mark as gold the items whose annotators all agreed on every categorical "
        "dimension (at least min_labels of them).",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        ser = s.PromoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        promoted = gold.gold_promote_unanimous(campaign=campaign, **ser.validated_data)
        return Response({"promoted": promoted})


class MemberResumeApi(APIView):
    @extend_schema(request=None, responses=s.ResumedSerializer)
    def post(self, request: Request, pk: int, user_id: int) -> Response:
        campaign = get_campaign(request, pk, ADMIN_ONLY)
        membership = gold.membership_resume(campaign=campaign, user_id=user_id)
        return Response({"user_id": membership.user_id, "paused_at": membership.paused_at})
