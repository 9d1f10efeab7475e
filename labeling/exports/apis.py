"""Export and Label Studio endpoints.

JSONL and CSV stream straight from the database cursor. Parquet, the Hugging Face `datasets`
folder and the Label Studio bundle are written batch by batch into a temporary file and sent as
a zip, each with DATASHEET.md inside; the datasheet is also served on its own. Private prompts
are exported only to campaign admins who ask for them (include_private=1). The file format is
the `as` parameter: DRF reserves `format` for its own content negotiation.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictJSONField
from core.errors import DomainError
from core.parsers import StrictJSONParser, bad_input_errors
from core.text import BadInput, loads_strict, utf8
from labeling import access
from labeling.access import get_campaign
from labeling.exports import bundle, formats, label_studio
from labeling.exports.datasheet import datasheet_markdown
from labeling.exports.label_studio_import import label_studio_import
from labeling.exports.rows import columns, export_rows
from labeling.models import Campaign

FORMATS = ("jsonl", "csv", "parquet", "hf", "label_studio")
_LICENSE_RE = re.compile(r"^[\w .+()/:-]{1,100}$")
AS_PARAM = OpenApiParameter("as", str, enum=list(FORMATS), description="the file format")
EXPORT_PARAMS = [
    OpenApiParameter("include_private", int, enum=[0, 1], description="admins only"),
    OpenApiParameter("license", str, description="the license stated in the datasheet"),
]


def _options(request: Request, campaign: Campaign) -> dict[str, Any]:
    raw = request.query_params.get("include_private", "0")
    if raw not in ("0", "1"):
        raise DomainError("include_private must be 0 or 1", field="include_private")
    if raw == "1" and access.campaign_role(request.user, campaign) != access.ADMIN:
        raise PermissionDenied("only campaign admins export private (held-out) prompts")
    license = request.query_params.get("license", "unspecified")
    if not _LICENSE_RE.match(license):
        raise DomainError("license is a short name such as CC-BY-4.0", field="license")
    return {"include_private": raw == "1", "license": license}


def _zip_response(
    campaign: Campaign, fmt: str, write: bundle.Writer, opts: dict[str, Any]
) -> FileResponse:
    """Run `write(zip, workdir)` into an anonymous temp file and send it as a download."""
    # FileResponse closes the file once it is sent, so no context manager here.
    spool = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        with (
            tempfile.TemporaryDirectory() as workdir,
            zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            write(archive, Path(workdir))
            datasheet = datasheet_markdown(
                campaign, include_private=opts["include_private"], license=opts["license"], fmt=fmt
            )
            archive.writestr("DATASHEET.md", utf8(datasheet))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    name = f"campaign-{campaign.pk}-{fmt}.zip"
    return FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")


class CampaignExportApi(APIView):
    @extend_schema(
        operation_id="campaigns_export",
        parameters=[AS_PARAM, *EXPORT_PARAMS],
        responses={
            (200, media): OpenApiResponse(
                OpenApiTypes.BINARY, "the export (zip: as=parquet, hf or label_studio)"
            )
            for media in ("application/x-ndjson", "text/csv", "application/zip")
        },
        description="One row per annotation (JSONL, CSV: streamed; Parquet, Hugging Face "
        "datasets folder: a zip with DATASHEET.md) or Label Studio's config and tasks (zip).",
    )
    def get(self, request: Request, pk: int) -> Any:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        fmt = request.query_params.get("as", "jsonl")
        if fmt not in FORMATS:
            raise DomainError(f"as must be one of {', '.join(FORMATS)}", field="as")
        opts = _options(request, campaign)
        if fmt in ("jsonl", "csv"):
            return _stream(campaign, fmt, opts, pk)
        writer = {
            "parquet": bundle.parquet_writer,
            "hf": bundle.hf_writer,
            "label_studio": bundle.label_studio_writer,
        }
        return _zip_response(campaign, fmt, writer[fmt](campaign, opts), opts)


def _stream(campaign: Campaign, fmt: str, opts: dict[str, Any], pk: int) -> StreamingHttpResponse:
    rows = export_rows(campaign, include_private=opts["include_private"])
    body: Iterator[bytes]
    if fmt == "jsonl":
        body, content_type = formats.jsonl_stream(rows), "application/x-ndjson"
    else:
        body = formats.csv_stream(rows, columns(campaign.rubric.schema))
        content_type = "text/csv; charset=utf-8"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="campaign-{pk}.{fmt}"'
    query = f"include_private={int(opts['include_private'])}&as={fmt}"
    response["Link"] = f'</api/campaigns/{pk}/export/datasheet/?{query}>; rel="describedby"'
    return response


class DatasheetApi(APIView):
    @extend_schema(
        operation_id="campaigns_export_datasheet",
        parameters=[AS_PARAM, *EXPORT_PARAMS],
        responses={(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, "Markdown")},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        opts = _options(request, campaign)
        fmt = request.query_params.get("as", "jsonl")
        if fmt not in FORMATS:
            raise DomainError(f"as must be one of {', '.join(FORMATS)}", field="as")
        text = datasheet_markdown(campaign, fmt=fmt, **opts)
        return HttpResponse(utf8(text), content_type="text/markdown; charset=utf-8")


class LabelStudioConfigApi(APIView):
    @extend_schema(
        operation_id="campaigns_label_studio_config",
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, "Label Studio XML")},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        campaign = get_campaign(request, pk, (access.ADMIN, access.VIEWER))
        config = label_studio.rubric_to_config(campaign.rubric.schema)
        label_studio.label_interface(config)
        return HttpResponse(utf8(config), content_type="application/xml; charset=utf-8")


class LabelStudioImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(required=False, help_text="a Label Studio JSON export")
    tasks = StrictJSONField(required=False, help_text="the same, inline")


class LabelStudioImportResultSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()


def _uploaded_tasks(data: bytes) -> Any:
    """The uploaded export, parsed as strictly as a JSON body (core.text.loads_strict)."""
    try:
        return loads_strict(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DomainError("the file is not UTF-8 text", field="file") from exc
    except BadInput as exc:
        errors = bad_input_errors(exc, "tasks") if exc.path else {"file": [exc.reason]}
        raise DomainError(f"the file cannot be imported: {exc.reason}", errors=errors) from exc
    except ValueError as exc:
        raise DomainError(f"not JSON: {exc}", field="file") from exc


class LabelStudioImportApi(APIView):
    parser_classes = [StrictJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="campaigns_label_studio_import",
        request={
            "application/json": LabelStudioImportSerializer,
            "multipart/form-data": LabelStudioImportSerializer,
        },
        responses={201: LabelStudioImportResultSerializer},
        description="Import a Label Studio JSON export as annotations: all or nothing; a 400 "
        "lists every problem as tasks[i].annotations[j].<field>.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = get_campaign(request, pk, (access.ADMIN,))
        ser = LabelStudioImportSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        upload = ser.validated_data.get("file")
        if upload is not None:
            tasks = _uploaded_tasks(upload.read())
        elif "tasks" in ser.validated_data:
            tasks = ser.validated_data["tasks"]
        else:
            raise DomainError("send a file or a tasks list", field="tasks")
        created = label_studio_import(campaign=campaign, tasks=tasks)
        return Response({"created": created}, status=status.HTTP_201_CREATED)
