"""One exception type for domain errors, mapped to a 400 by one handler."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A request that breaks a rule of the domain.

    `errors` maps a field path (e.g. "values.fluency") to a list of reasons; `status_code` lets
    the few conflicts (a lost lease) answer 409 instead of 400.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
        code: str = "invalid",
        status_code: int = status.HTTP_400_BAD_REQUEST,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})
        if field is not None:
            self.errors.setdefault(field, []).append(message)
        self.code = code
        self.status_code = status_code
        self.extra = extra or {}

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"detail": self.message, "code": self.code}
        if self.errors:
            payload["errors"] = self.errors
        payload.update(self.extra)
        return payload


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.status_code)
    return exception_handler(exc, context)
