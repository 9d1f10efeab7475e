"""A database that is down, restarting or refusing connections answers 503, not 500.

The web process outlives a database restart: Django drops a connection that raised, and the
next request opens a new one (at once with CONN_HEALTH_CHECKS=1; otherwise each idle
persistent connection fails one request first). Meanwhile clients get a 503 in the API's error
shape with Retry-After, which says "try again" where a 500 says "this request is broken".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
DETAIL = "the database is unavailable or busy; try again in a few seconds"


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": DETAIL, "code": "database_unavailable"}, status=503
        )
    else:
        response = HttpResponse(DETAIL, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class DatabaseUnavailableMiddleware:
    """Turns django.db's OperationalError and InterfaceError from a view into a 503.

    Both mean the database could not do the work right now (connection refused or lost, the
    server shutting down, a lock or statement timeout), never that the request was wrong.
    Errors raised by other middleware are not views' and keep Django's 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.warning("database unavailable: %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)
