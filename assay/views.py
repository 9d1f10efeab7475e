from __future__ import annotations

from pathlib import Path
from typing import Any

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
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


# --- errors Django answers itself: JSON under /api/, Django's pages elsewhere ------------------


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _error(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return _error("bad request", "bad_request", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return _error("you may not do this", "permission_denied", 403)
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return _error("no such API endpoint or object", "not_found", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return _error("server error: the request was not completed", "server_error", 500)
    return defaults.server_error(request)
