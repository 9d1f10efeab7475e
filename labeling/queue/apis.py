"""The annotator's loop: next (lease), submit, skip, and the caller's own progress."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ErrorSerializer
from core.errors import DomainError
from core.schema import conflict
from labeling import access
from labeling.access import get_campaign
from labeling.queue import serializers as s
from labeling.queue import services
from labeling.queue.selectors import annotator_progress


class NextApi(APIView):
    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter(
                "ahead",
                int,
                enum=[0, 1],
                description="1: also lease the item after this one (prefetch); default 0",
            )
        ],
        responses={
            200: s.NextResponseSerializer,
            409: conflict("the campaign is not open for labeling"),
        },
        description="Lease the next item (or return your live lease). `assignment` is null "
        "when nothing is left for you; with ahead=1, `upcoming` is the item after it.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.ANNOTATOR))
        raw = request.query_params.get("ahead", "0")
        if raw not in ("0", "1"):
            raise DomainError("ahead must be 0 or 1", field="ahead")
        leases = services.assignment_leases(
            campaign=campaign, user=access.signed_in(request), ahead=int(raw)
        )
        data = {
            "assignment": s.lease_data(leases[0]) if leases else None,
            "upcoming": s.lease_data(leases[1]) if len(leases) > 1 else None,
            "progress": annotator_progress(campaign, access.signed_in(request), capped=True),
        }
        return Response(data)


class SubmitApi(APIView):
    @extend_schema(
        request=s.SubmitSerializer,
        responses={201: s.AnnotationSerializer, 400: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        ser = s.SubmitSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        annotation = services.annotation_submit(
            assignment_id=pk, user=access.signed_in(request), **ser.validated_data
        )
        return Response(s.annotation_data(annotation), status=status.HTTP_201_CREATED)


class SkipApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.SkipResultSerializer,
            409: conflict("already submitted, or the campaign is not open for labeling"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        assignment = services.assignment_skip(assignment_id=pk, user=access.signed_in(request))
        return Response({"id": assignment.pk, "status": assignment.status})


class MyProgressApi(APIView):
    @extend_schema(responses=s.MyProgressSerializer, description="The caller's own progress.")
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk)
        return Response(annotator_progress(campaign, access.signed_in(request)))
