from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import conflict
from generation import serializers as s
from generation.models import CandidateModel, GenerationJob
from generation.services import (
    generation_job_cancel,
    generation_job_start,
    model_test_connection,
)
from labeling import access
from labeling.access import get_campaign
from labeling.models import Campaign


class CandidateModelListApi(APIView):
    @extend_schema(responses=s.CandidateModelSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = CandidateModel.objects.order_by("name")
        ser = s.CandidateModelSerializer(rows, many=True, context={"request": request})
        return Response(ser.data)

    @extend_schema(request=s.CandidateModelSerializer, responses={201: s.CandidateModelSerializer})
    def post(self, request: Request) -> Response:
        # A path names a file on the workers: only staff may point the platform at one.
        if not access.can_create_campaigns(request.user):
            raise PermissionDenied("only staff users register models")
        ser = s.CandidateModelSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        ser.save()
        return Response(ser.data, status=status.HTTP_201_CREATED)


class CandidateModelDetailApi(APIView):
    @extend_schema(responses=s.CandidateModelSerializer)
    def get(self, request: Request, pk: int) -> Response:
        model = CandidateModel.objects.filter(pk=pk).first()
        if model is None:
            raise Http404("no such model")
        return Response(s.CandidateModelSerializer(model, context={"request": request}).data)


class ModelTestConnectionApi(APIView):
    @extend_schema(
        request=None,
        responses=s.ConnectionCheckSerializer,
        description="Send one tiny request to an OpenAI-compatible model's server (no retries) "
        "and report ok or the error. Staff only.",
    )
    def post(self, request: Request, pk: int) -> Response:
        if not access.can_create_campaigns(request.user):
            raise PermissionDenied("only staff users test model connections")
        model = CandidateModel.objects.filter(pk=pk).first()
        if model is None:
            raise Http404("no such model")
        return Response(s.ConnectionCheckSerializer(model_test_connection(model=model)).data)


class CampaignJobsApi(APIView):
    @extend_schema(responses=s.GenerationJobSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        jobs = campaign.generation_jobs.select_related("model").order_by("id")
        return Response(s.GenerationJobSerializer(jobs, many=True).data)

    @extend_schema(
        request=s.JobStartSerializer,
        responses={
            201: s.GenerationJobSerializer,
            409: conflict("this job is running; restart it with force=true if its worker died"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = s.JobStartSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        job = generation_job_start(
            campaign=campaign,
            model=ser.validated_data["model"],
            params=ser.validated_data.get("params") or {},
        )
        return Response(s.GenerationJobSerializer(job).data, status=status.HTTP_201_CREATED)


def _job_for(request: Request, pk: int, roles: tuple[str, ...]) -> GenerationJob:
    job = GenerationJob.objects.select_related("model", "campaign").filter(pk=pk).first()
    if job is None:
        raise Http404("no such job")
    get_campaign(request, job.campaign_id, roles)
    return job


class JobDetailApi(APIView):
    @extend_schema(responses=s.GenerationJobSerializer)
    def get(self, request: Request, pk: int) -> Response:
        job = _job_for(request, pk, (access.ADMIN, access.VIEWER))
        return Response(s.GenerationJobSerializer(job).data)


class JobRestartApi(APIView):
    @extend_schema(
        request=s.JobRestartSerializer,
        responses={
            200: s.GenerationJobSerializer,
            409: conflict("the job is running; force=true takes it over"),
        },
        description="Run the job again: only missing outputs are generated. A run that still "
        "looks alive is taken over only with force=true.",
    )
    def post(self, request: Request, pk: int) -> Response:
        job = _job_for(request, pk, (access.ADMIN,))
        ser = s.JobRestartSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        campaign = Campaign.objects.get(pk=job.campaign_id)
        job = generation_job_start(
            campaign=campaign, model=job.model, params=job.params, force=ser.validated_data["force"]
        )
        return Response(s.GenerationJobSerializer(job).data)


class JobCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.GenerationJobSerializer,
            409: conflict("the job has already succeeded: there is nothing to cancel"),
        },
        description="Stop the job: queued chunks never run, running ones stop at their next "
        "batch. Stored outputs stay; a restart generates only the rest. 409 once it succeeded.",
    )
    def post(self, request: Request, pk: int) -> Response:
        job = _job_for(request, pk, (access.ADMIN,))
        return Response(s.GenerationJobSerializer(generation_job_cancel(job=job)).data)
