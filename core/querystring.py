"""Query parameters holding a NUL character answer 400 before any view runs.

No database column stores U+0000 in text (PostgreSQL refuses it outright), so a filter on such
a value fails inside the driver as a 500; no API parameter has a use for it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

REASON = "contains a NUL character (U+0000)"


class NulInQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and request.META.get("QUERY_STRING"):
            bad = [
                name.replace("\x00", "\\x00")
                for name, values in request.GET.lists()
                if "\x00" in name or any("\x00" in v for v in values)
            ]
            if bad:
                payload = {
                    "detail": f"the query parameter {bad[0]} {REASON}",
                    "code": "invalid",
                    "errors": {name: [REASON] for name in bad},
                }
                return JsonResponse(payload, status=400)
        return self.get_response(request)
