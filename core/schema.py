"""The OpenAPI schema's view of errors: every operation declares the 4xx it can answer.

An API client (and the schema fuzzer in tests/fuzz) reads the schema as a contract, so a 403 or
a 404 that the schema does not list is a broken promise even when it is the right answer. The
errors all have one shape (core/errors.py), so they are declared here once, by what an
operation takes, instead of in every view:

- 400 for writes, and for reads with query parameters (domain rules and bad values);
- 401 and 403 where a view needs a signed-in user (token auth comes first, so an anonymous
  call is a 401 with WWW-Authenticate);
- 415 where the operation takes a body (a content type it has no parser for);
- 404 where the path names an object;
- 429 where the view is throttled.

A view's own `@extend_schema(responses=...)` for a code wins; the 409s (a state conflict: a
lease lost, a job or run already going) are declared per view with `conflict(...)`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from core.api import ErrorSerializer

ERRORS = {
    "400": "Bad input: `errors` maps each field path to its reasons",
    "401": "Not signed in: send `Authorization: Token <key>` or sign in",
    "403": "Not allowed to do this",
    "404": "No such object, or none you may see",
    "415": "The request body's content type is not one this operation reads",
    "429": "Too many requests: try again later",
}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def conflict(description: str) -> OpenApiResponse:
    """A 409 in the one error shape, for `@extend_schema(responses={409: conflict(...)})`."""
    return OpenApiResponse(ErrorSerializer, description=description)


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            if code not in responses:
                error = OpenApiResponse(ErrorSerializer, description=ERRORS[code])
                responses[code] = self._get_response_for_code(error, code)
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        params = operation.get("parameters", [])
        codes = []
        if self.method in WRITES or any(p["in"] == "query" for p in params):
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "requestBody" in operation:
            codes.append("415")
        if any(p["in"] == "path" for p in params):
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes
