"""Campaigns, their members, prompts and items, and the admin dashboard."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PAGE_PARAMS, ErrorSerializer, Pagination
from core.errors import DomainError
from core.parsers import StrictJSONParser
from labeling import access
from labeling.access import get_campaign
from labeling.campaigns import serializers as s
from labeling.campaigns import services
from labeling.campaigns.analytics_status import analytics_status
from labeling.campaigns.selectors import (
    annotator_stats,
    campaign_counts,
    campaign_progress,
    items_for_admin,
    private_annotators,
    prompts_visible,
    throughput,
)
from labeling.models import Campaign, Membership
from labeling.rubric import default_rubric


def _roles_for(user: User, campaign_ids: list[int]) -> dict[int, str]:
    if user.is_superuser:
        return dict.fromkeys(campaign_ids, access.ADMIN)
    return dict(
        Membership.objects.filter(user=user, campaign_id__in=campaign_ids).values_list(
            "campaign_id", "role"
        )
    )


def _context(campaign: Campaign, role: str | None) -> dict[str, Any]:
    roles = {campaign.pk: role}
    return {"roles": roles, "private_annotators": private_annotators([campaign], roles)}


class CampaignListApi(APIView):
    @extend_schema(
        operation_id="campaigns_list", parameters=PAGE_PARAMS, responses=s.CampaignPageSerializer
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(access.campaigns_visible_to(request.user), request, self)
        assert page is not None
        roles = _roles_for(access.signed_in(request), [c.pk for c in page])
        context = {"roles": roles, "private_annotators": private_annotators(page, roles)}
        data = s.CampaignSerializer(page, many=True, context=context).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=s.CampaignWriteSerializer, responses={201: s.CampaignSerializer})
    def post(self, request: Request) -> Response:
        if not access.can_create_campaigns(request.user):
            raise PermissionDenied("only staff users create campaigns")
        ser = s.CampaignWriteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        campaign = services.campaign_create(user=access.signed_in(request), **ser.validated_data)
        data = s.CampaignSerializer(campaign, context=_context(campaign, access.ADMIN)).data
        return Response(data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    @extend_schema(responses=s.CampaignDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk)
        context = _context(campaign, access.campaign_role(request.user, campaign))
        campaign.counts = campaign_counts(campaign)  # type: ignore[attr-defined]
        campaign.progress = campaign_progress(campaign)  # type: ignore[attr-defined]
        return Response(s.CampaignDetailSerializer(campaign, context=context).data)

    @extend_schema(request=s.CampaignUpdateSerializer, responses=s.CampaignSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = s.CampaignUpdateSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        campaign = services.campaign_update(campaign=campaign, data=ser.validated_data)
        context = _context(campaign, access.ADMIN)
        return Response(s.CampaignSerializer(campaign, context=context).data)


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
        paginator = Pagination()
        page = paginator.paginate_queryset(prompts_visible(campaign, is_admin=is_admin), request)
        return paginator.get_paginated_response(s.PromptSerializer(page, many=True).data)


def _too_large(size: int) -> DomainError:
    limit = settings.ASSAY_IMPORT_MAX_BYTES
    return DomainError(
        f"the upload is {size} bytes, over the limit of {limit} bytes (ASSAY_IMPORT_MAX_BYTES)",
        field="file",
        code="too_large",
        status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


class PromptImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: the session CSRF check reads a multipart body. Without a
        # Content-Length (chunked) Django reads no body at all.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.ASSAY_IMPORT_MAX_BYTES:
            raise _too_large(length)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={
            "multipart/form-data": s.PromptImportSerializer,
            "application/json": s.PromptImportSerializer,
        },
        responses={
            201: s.ImportResultSerializer,
            400: ErrorSerializer,
            409: ErrorSerializer,
            413: ErrorSerializer,
        },
        description="Import prompts from JSONL or CSV. One bad row rejects the whole file; "
        "the 400 lists every bad row with its field and reason (the first 1,000; "
        "`rows_not_listed` counts the rest). The rows become visible all at once when the "
        "import commits. Bodies over ASSAY_IMPORT_MAX_BYTES are refused with 413.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = s.PromptImportSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        upload = ser.validated_data.get("file")
        content = ser.validated_data.get("content")
        size = upload.size if upload else len(content.encode("utf-8", "surrogatepass"))
        if size > settings.ASSAY_IMPORT_MAX_BYTES:
            raise _too_large(size)
        fmt = ser.validated_data.get("format")
        if fmt is None:
            fmt = "csv" if upload and upload.name.lower().endswith(".csv") else "jsonl"
        report = services.prompts_import(
            campaign=campaign,
            data=upload.file if upload else content,
            fmt=fmt,
            default_split=ser.validated_data["split"],
            user=access.signed_in(request),
        )
        body = {"created": report.created, "import_id": report.import_id}
        return Response(body, status=status.HTTP_201_CREATED)


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
        paginator = Pagination()
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


class CampaignAnalyticsStatusApi(APIView):
    @extend_schema(
        responses=s.AnalyticsStatusSerializer,
        description="What the campaign's analytics wait for: the consensus refit and the score "
        "refresh (requested, running, last finished) and the `default` queue ahead of them "
        "(other campaigns' earlier requests; messages no worker has taken). Cheap: poll it.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        return Response(s.AnalyticsStatusSerializer(analytics_status(campaign)).data)
