"""Campaigns, their members, prompts and items, and the admin dashboard."""

from __future__ import annotations

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PAGE_PARAMS, ErrorSerializer
from core.errors import DomainError
from labeling import access
from labeling.access import get_campaign
from labeling.campaigns import serializers as s
from labeling.campaigns import services
from labeling.campaigns.selectors import (
    annotator_stats,
    campaign_counts,
    campaign_progress,
    items_for_admin,
    prompts_visible,
    throughput,
)
from labeling.models import Membership
from labeling.rubric import default_rubric


def _roles_for(user: User, campaign_ids: list[int]) -> dict[int, str]:
    if user.is_superuser:
        return dict.fromkeys(campaign_ids, access.ADMIN)
    return dict(
        Membership.objects.filter(user=user, campaign_id__in=campaign_ids).values_list(
            "campaign_id", "role"
        )
    )


class CampaignListApi(APIView):
    @extend_schema(
        operation_id="campaigns_list", parameters=PAGE_PARAMS, responses=s.CampaignPageSerializer
    )
    def get(self, request: Request) -> Response:
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(access.campaigns_visible_to(request.user), request, self)
        assert page is not None
        roles = _roles_for(access.signed_in(request), [c.pk for c in page])
        data = s.CampaignSerializer(page, many=True, context={"roles": roles}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=s.CampaignWriteSerializer, responses={201: s.CampaignSerializer})
    def post(self, request: Request) -> Response:
        if not access.can_create_campaigns(request.user):
            raise PermissionDenied("only staff users create campaigns")
        ser = s.CampaignWriteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        campaign = services.campaign_create(user=access.signed_in(request), **ser.validated_data)
        data = s.CampaignSerializer(campaign, context={"roles": {campaign.pk: access.ADMIN}}).data
        return Response(data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    @extend_schema(responses=s.CampaignDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk)
        roles = {campaign.pk: access.campaign_role(request.user, campaign)}
        campaign.counts = campaign_counts(campaign)  # type: ignore[attr-defined]
        campaign.progress = campaign_progress(campaign)  # type: ignore[attr-defined]
        return Response(s.CampaignDetailSerializer(campaign, context={"roles": roles}).data)

    @extend_schema(request=s.CampaignUpdateSerializer, responses=s.CampaignSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = s.CampaignUpdateSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        campaign = services.campaign_update(campaign=campaign, data=ser.validated_data)
        roles = {campaign.pk: access.ADMIN}
        return Response(s.CampaignSerializer(campaign, context={"roles": roles}).data)


class MembershipApi(APIView):
    @extend_schema(responses=s.MembershipSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        rows = campaign.memberships.select_related("user").order_by("user__username")
        return Response(s.MembershipSerializer(rows, many=True).data)

    @extend_schema(request=s.MembershipWriteSerializer, responses={201: s.MembershipSerializer})
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = s.MembershipWriteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        membership = services.membership_set(
            campaign=campaign, user=ser.validated_data["username"], role=ser.validated_data["role"]
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MembershipDetailApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int, user_id: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        if user_id == request.user.pk:
            raise DomainError("you cannot remove yourself; ask another admin", field="user")
        services.membership_remove(campaign=campaign, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PromptListApi(APIView):
    @extend_schema(
        operation_id="campaigns_prompts_list",
        parameters=PAGE_PARAMS,
        responses=s.PromptPageSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        is_admin = access.campaign_role(request.user, campaign) == access.ADMIN
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(prompts_visible(campaign, is_admin=is_admin), request)
        return paginator.get_paginated_response(s.PromptSerializer(page, many=True).data)


class PromptImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={
            "multipart/form-data": s.PromptImportSerializer,
            "application/json": s.PromptImportSerializer,
        },
        responses={201: s.ImportResultSerializer, 400: ErrorSerializer},
        description="Import prompts from JSONL or CSV. One bad row rejects the whole file; "
        "the 400 lists every bad row with its field and reason.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = s.PromptImportSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        upload = ser.validated_data.get("file")
        data = upload.read() if upload else ser.validated_data["content"]
        fmt = ser.validated_data.get("format")
        if fmt is None:
            fmt = "csv" if upload and upload.name.lower().endswith(".csv") else "jsonl"
        report = services.prompts_import(
            campaign=campaign, data=data, fmt=fmt, default_split=ser.validated_data["split"]
        )
        return Response({"created": report.created}, status=status.HTTP_201_CREATED)


class ItemListApi(APIView):
    @extend_schema(
        parameters=[*PAGE_PARAMS, OpenApiParameter("split", str, enum=["public", "private"])],
        responses=s.ItemPageSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        split = request.query_params.get("split")
        if split not in (None, "public", "private"):
            raise DomainError("split must be public or private", field="split")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(items_for_admin(campaign, split=split), request)
        return paginator.get_paginated_response(s.ItemAdminSerializer(page, many=True).data)


class CampaignDashboardApi(APIView):
    @extend_schema(
        responses=s.DashboardSerializer,
        description="Labeling progress, hourly throughput over the "
        "last 48 hours, and per-annotator counts with median time per item.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        return Response(
            {
                "progress": campaign_progress(campaign),
                "throughput": throughput(campaign),
                "annotators": annotator_stats(campaign),
            }
        )


class DefaultRubricApi(APIView):
    @extend_schema(responses=dict)
    def get(self, request: Request) -> Response:
        return Response(default_rubric())
