"""Care for annotators: their content warning, opt-outs, breaks and blur preference; and for
campaign admins, each annotator's exposure."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ErrorSerializer
from core.errors import DomainError
from labeling import access
from labeling.access import get_campaign
from labeling.care import selectors, services
from labeling.care import serializers as s

LABELERS = (access.ADMIN, access.ANNOTATOR)
MAX_DAYS = 90


def _mine(request: Request, pk: int) -> Response:
    campaign = get_campaign(request, pk, LABELERS)
    data = selectors.my_care(campaign=campaign, user=access.signed_in(request), now=timezone.now())
    return Response(s.MyCareSerializer(data).data)


class MyCareApi(APIView):
    @extend_schema(
        responses={200: s.MyCareSerializer},
        description="Your care state in this campaign: its content warning and whether you "
        "acknowledged it, the hazard categories you may opt out of and those you did, and "
        "your exposure today against its limits.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return _mine(request, pk)

    @extend_schema(
        request=s.MyCareUpdateSerializer,
        responses={200: s.MyCareSerializer, 400: ErrorSerializer},
        description="Set the hazard categories you opt out of (of the campaign's list); your "
        "leases on items of those categories go back to the pool.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, LABELERS)
        ser = s.MyCareUpdateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.care_set_opt_outs(
            campaign=campaign,
            user=access.signed_in(request),
            opt_outs=ser.validated_data["hazard_opt_outs"],
        )
        return _mine(request, pk)


class AcknowledgeWarningApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.MyCareSerializer, 400: ErrorSerializer},
        description="You read the campaign's content warning: `next` leases you items now.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, LABELERS)
        services.care_acknowledge_warning(campaign=campaign, user=access.signed_in(request))
        return _mine(request, pk)


class TakeBreakApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.MyCareSerializer},
        description="You took the break you were reminded of: the next reminder comes after "
        "the campaign's break interval of further labeling.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, LABELERS)
        services.care_take_break(campaign=campaign, user=access.signed_in(request))
        return _mine(request, pk)


class ExposureApi(APIView):
    @extend_schema(
        operation_id="campaigns_care_exposure",
        parameters=[
            OpenApiParameter("days", int, description=f"days back, today included (1-{MAX_DAYS})")
        ],
        responses={200: s.ExposureReportSerializer, 400: ErrorSerializer},
        description="Each annotator's exposure: items and minutes today and per day over the "
        "last `days` days (default 7). Campaign admins only.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        raw = request.query_params.get("days", "7")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            raise DomainError(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
        days = int(raw)
        rows = selectors.exposure_by_annotator(campaign=campaign, days=days, now=timezone.now())
        data = {
            "days": days,
            "daily_item_limit": campaign.daily_item_limit,
            "daily_minute_limit": campaign.daily_minute_limit,
            "annotators": rows,
        }
        return Response(s.ExposureReportSerializer(data).data)


class CarePreferenceApi(APIView):
    @extend_schema(responses={200: s.CarePreferenceSerializer}, description="Your blur choice.")
    def get(self, request: Request) -> Response:
        user = access.signed_in(request)
        return Response({"blur_outputs": selectors.blur_preference(user)})

    @extend_schema(
        request=s.CarePreferenceSerializer,
        responses={200: s.CarePreferenceSerializer, 400: ErrorSerializer},
        description="Turn blurring of sensitive outputs on or off for yourself, everywhere.",
    )
    def put(self, request: Request) -> Response:
        ser = s.CarePreferenceSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        pref = services.care_set_preference(
            user=access.signed_in(request), blur_outputs=ser.validated_data["blur_outputs"]
        )
        return Response({"blur_outputs": pref.blur_outputs})
