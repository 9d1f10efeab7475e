"""Cleaning jobs over HTTP: staff create them; each user sees only their own (404 otherwise)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cleaning import serializers as s
from cleaning.audit import audit_open, audit_results
from cleaning.models import CleaningJob
from cleaning.selectors import job_of, jobs_of, output_files, usable_versions
from cleaning.services import (
    cleaning_job_cancel,
    cleaning_job_create,
    cleaning_job_resume,
    cleaning_job_start,
)
from core.errors import DomainError
from core.parsers import StrictJSONParser
from core.schema import conflict
from labeling import access


def _job(request: Request, pk: int) -> CleaningJob:
    job = job_of(access.signed_in(request), pk)
    if job is None:
        raise Http404("no such cleaning job")
    return job


def _detail(request: Request, pk: int) -> Response:
    return Response(s.CleaningJobDetailSerializer(_job(request, pk)).data)


class CleaningClassifiersApi(APIView):
    @extend_schema(
        responses=s.UsableVersionSerializer(many=True),
        description="Trained classifier versions the caller may clean with (their campaigns').",
    )
    def get(self, request: Request) -> Response:
        rows = usable_versions(access.signed_in(request))[:500]
        return Response(s.UsableVersionSerializer(rows, many=True).data)


class CleaningJobListApi(APIView):
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=s.CleaningJobSerializer(many=True))
    def get(self, request: Request) -> Response:
        jobs = jobs_of(access.signed_in(request))[:200]
        return Response(s.CleaningJobSerializer(jobs, many=True).data)

    @extend_schema(
        request={
            "application/json": s.CleaningJobCreateSerializer,
            "multipart/form-data": s.CleaningJobCreateSerializer,
        },
        responses={201: s.CleaningJobDetailSerializer},
        description="Clean a corpus (a path under the workers' cleaning root, or an upload) "
        "with document classifiers (remove) and a span tagger (mask). Staff only.",
    )
    def post(self, request: Request) -> Response:
        if not access.can_create_campaigns(request.user):
            raise PermissionDenied("only staff users start cleaning jobs")
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.ASSAY_CLEANING_UPLOAD_MAX_BYTES:
            raise DomainError(
                "the upload is too large; put the corpus under the cleaning root and give its "
                "path, or use manage.py clean_corpus",
                field="file",
                status_code=413,
            )
        ser = s.CleaningJobCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        job = cleaning_job_create(
            user=access.signed_in(request),
            name=d["name"],
            path=d.get("path"),
            upload=d.get("file"),
            text_field=d["text_field"],
            id_field=d["id_field"],
            document_classifiers=d["document_classifiers"],
            tagger=d["tagger"],
            mask_mode=d["mask_mode"],
            replacement=d["replacement"],
            shard_size=d.get("shard_size"),
            precision=d["precision"],
            start=d["start"],
        )
        return Response(
            s.CleaningJobDetailSerializer(job_of(job.owner, job.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class CleaningJobDetailApi(APIView):
    @extend_schema(responses=s.CleaningJobDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, pk)


class CleaningJobStartApi(APIView):
    @extend_schema(
        request=s.CleaningJobStartSerializer,
        responses={200: s.CleaningJobDetailSerializer, 409: conflict("the job has started")},
    )
    def post(self, request: Request, pk: int) -> Response:
        job = _job(request, pk)
        ser = s.CleaningJobStartSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        cleaning_job_start(job=job, thresholds=ser.validated_data["thresholds"])
        return _detail(request, pk)


class CleaningJobResumeApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.CleaningJobDetailSerializer, 409: conflict("the job has finished")},
        description="Run again the shards whose worker died; finished shards are kept.",
    )
    def post(self, request: Request, pk: int) -> Response:
        cleaning_job_resume(job=_job(request, pk))
        return _detail(request, pk)


class CleaningJobCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={200: s.CleaningJobDetailSerializer, 409: conflict("the job has finished")},
    )
    def post(self, request: Request, pk: int) -> Response:
        cleaning_job_cancel(job=_job(request, pk))
        return _detail(request, pk)


class CleaningJobFilesApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("path", str, description="One of the listed files")],
        responses={
            200: OpenApiResponse(
                s.OutputFileSerializer(many=True),
                description="Without `path`: the list; with it: the file's bytes",
            )
        },
    )
    def get(self, request: Request, pk: int) -> Response | FileResponse:
        job = _job(request, pk)
        files = output_files(job)
        wanted = request.query_params.get("path")
        if wanted is None:
            return Response(
                s.OutputFileSerializer([{"path": p, "bytes": b} for p, b in files], many=True).data
            )
        # Only a name from the listing: nothing outside the job's folder can be asked for.
        if wanted not in {p for p, _ in files}:
            raise Http404("no such output file")
        return FileResponse(
            (Path(job.output_dir) / wanted).open("rb"),
            as_attachment=True,
            filename=Path(wanted).name,
        )


class CleaningAuditApi(APIView):
    @extend_schema(
        responses={200: s.AuditResultSerializer},
        description="The audit's estimates from the labels so far (404 before an audit).",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.AuditResultSerializer(audit_results(_job(request, pk))).data)

    @extend_schema(
        request=s.AuditOpenSerializer,
        responses={201: s.AuditResultSerializer, 409: conflict("not finished, or audited")},
        description="Open a labeling campaign over a stratified random sample of the job's "
        "removed documents, masked spans in context, and kept documents.",
    )
    def post(self, request: Request, pk: int) -> Response:
        job = _job(request, pk)
        ser = s.AuditOpenSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        audit_open(job=job, user=access.signed_in(request), **ser.validated_data)
        job.refresh_from_db()
        return Response(
            s.AuditResultSerializer(audit_results(job)).data, status=status.HTTP_201_CREATED
        )
