from __future__ import annotations

from pathlib import Path
from typing import Any

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

SPA_INDEX = Path(settings.BASE_DIR) / "frontend" / "dist" / "index.html"


@login_required
@ensure_csrf_cookie
def spa(request: HttpRequest, path: str = "") -> HttpResponse:
    """The React app for every browser route; falls back to a page of links when not built."""
    if SPA_INDEX.exists():
        return HttpResponse(SPA_INDEX.read_bytes(), content_type="text/html; charset=utf-8")
    return render(request, "home.html")


# The API docs: Swagger UI gets its init script as a file from the split view (no inline
# script), and neither page loads anything from another origin (frontend/templates/drf_spectacular).
api_docs = SpectacularSwaggerSplitView.as_view(url_name="schema")
# ReDoc styles itself with <style> elements it creates at run time (styled-components) and
# searches in a blob: worker: allowed on its page only. Still no inline script.
api_redoc = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})(
    SpectacularRedocView.as_view(url_name="schema")
)


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class MeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    is_superuser = serializers.BooleanField()


class MeApi(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
