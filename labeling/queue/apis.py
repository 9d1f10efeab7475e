"""The annotator's loop: next (lease), submit, skip, and the caller's own progress."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import PAGE_PARAMS, ErrorSerializer, Pagination
from core.errors import DomainError
from core.schema import conflict
from labeling import access
from labeling.access import get_campaign
from labeling.care.selectors import care_status
from labeling.queue import serializers as s
from labeling.queue import services
from labeling.queue.selectors import (
    EXPOSURE_COLUMNS,
    HISTORY_LIMIT,
    annotator_history,
    annotator_progress,
    private_exposures,
)


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
        "when nothing is left for you, and also while `care.state` is `warning` (acknowledge "
        "the content warning first) or `limit_reached` (the day's items or minutes are used "
        "up); with ahead=1, `upcoming` is the item after it.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.ANNOTATOR))
        raw = request.query_params.get("ahead", "0")
        if raw not in ("0", "1"):
            raise DomainError("ahead must be 0 or 1", field="ahead")
        user = access.signed_in(request)
        leases, care = services.assignment_leases_with_care(
            campaign=campaign, user=user, ahead=int(raw)
        )
        without = care.opt_outs if care is not None else ()
        data = {
            "assignment": s.lease_data(leases[0]) if leases else None,
            "upcoming": s.lease_data(leases[1]) if len(leases) > 1 else None,
            "progress": annotator_progress(campaign, user, capped=True, without=without),
            "care": care.as_data() if care is not None else None,
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
        request=s.SkipSerializer,
        responses={
            200: s.SkipResultSerializer,
            400: ErrorSerializer,
            409: conflict("already submitted, or the campaign is not open for labeling"),
        },
        description="Skip the item; the body (a `reason`) is optional.",
    )
    def post(self, request: Request, pk: int) -> Response:
        ser = s.SkipSerializer(data=request.data if request.data else {})
        ser.is_valid(raise_exception=True)
        assignment = services.assignment_skip(
            assignment_id=pk,
            user=access.signed_in(request),
            reason=ser.validated_data.get("reason", ""),
        )
        return Response({"id": assignment.pk, "status": assignment.status})


class UnskipApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.AssignmentSerializer,
            409: conflict("not skipped, others took the item since, or the campaign is not open"),
        },
        description="Undo a skip: the item is leased to you again while a slot is free.",
    )
    def post(self, request: Request, pk: int) -> Response:
        assignment = services.assignment_unskip(assignment_id=pk, user=access.signed_in(request))
        return Response(s.lease_data(assignment))


class EditApi(APIView):
    @extend_schema(
        request=s.EditSerializer,
        responses={
            200: s.AnnotationSerializer,
            400: ErrorSerializer,
            409: conflict("not submitted, or the campaign is not open for labeling"),
        },
        description="Correct your submitted annotation while the campaign is open. The values "
        "it replaces are kept as a revision; the item's consensus votes again.",
    )
    def post(self, request: Request, pk: int) -> Response:
        ser = s.EditSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        annotation = services.annotation_edit(
            assignment_id=pk, user=access.signed_in(request), **ser.validated_data
        )
        return Response(s.annotation_data(annotation))


class MyHistoryApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int, description="how many (1-50, default 20)"),
        ],
        responses={200: s.HistorySerializer, 400: ErrorSerializer},
        description="Your own recent items in this campaign (submitted or skipped), newest first.",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.ANNOTATOR))
        raw = request.query_params.get("limit", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= HISTORY_LIMIT:
            raise DomainError(f"limit must be an integer from 1 to {HISTORY_LIMIT}", field="limit")
        rows = annotator_history(campaign, access.signed_in(request), limit=int(raw))
        return Response({"results": rows})  # plain values, shaped as HistorySerializer


class MyProgressApi(APIView):
    @extend_schema(responses=s.MyProgressSerializer, description="The caller's own progress.")
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk)
        user = access.signed_in(request)
        care = care_status(campaign=campaign, user=user, now=timezone.now())
        without = care.opt_outs if care is not None else ()
        return Response(annotator_progress(campaign, user, without=without))


def _exposure_filters(request: Request) -> dict[str, Any]:
    raw_annotator = request.query_params.get("annotator")
    raw_since = request.query_params.get("since")
    annotator: int | None = None
    since: datetime | None = None
    if raw_annotator is not None:
        if not raw_annotator.isdigit() or len(raw_annotator) > 18:
            raise DomainError("annotator must be a user id", field="annotator")
        annotator = int(raw_annotator)
    if raw_since is not None:
        try:
            since = parse_datetime(raw_since)
        except ValueError:
            since = None
        if since is None or since.tzinfo is None:
            raise DomainError("since must be an ISO 8601 time with a zone", field="since")
    return {"annotator_id": annotator, "since": since}


def _csv_rows(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The rows as CSV, with the JSON page's column names, a chunk per 1,000 rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPOSURE_COLUMNS)
    for i, row in enumerate(rows, 1):
        row = {**row, "shown_at": row["shown_at"].isoformat()}
        writer.writerow([row[source] for source in EXPOSURE_COLUMNS.values()])
        if i % 1000 == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


class PrivateExposureApi(APIView):
    @extend_schema(
        operation_id="campaigns_private_exposures",
        parameters=[
            *PAGE_PARAMS,
            OpenApiParameter("annotator", int, description="only this annotator's"),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="only from this time"),
            OpenApiParameter("as", str, enum=["json", "csv"], description="csv: every row"),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                s.PrivateExposurePageSerializer, description="A page (as=json)"
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, "every row (as=csv)"),
            400: ErrorSerializer,
        },
        description="Who was shown which private (held-out) prompt: one row per lease `next` "
        "handed out on an item of a private prompt, newest first. Campaign admins only.",
    )
    def get(self, request: Request, pk: int) -> Any:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        fmt = request.query_params.get("as", "json")
        if fmt not in ("json", "csv"):
            raise DomainError("as must be json or csv", field="as")
        rows = private_exposures(campaign, **_exposure_filters(request))
        if fmt == "csv":
            response = StreamingHttpResponse(
                _csv_rows(rows.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
            )
            name = f"campaign-{pk}-private-exposures.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, self)
        return paginator.get_paginated_response(s.PrivateExposureSerializer(page, many=True).data)
