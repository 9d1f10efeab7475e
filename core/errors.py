"""One exception type for domain errors, mapped to a 400 by one handler."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import ValidationError
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


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub[0].x": [reasons]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = str(key) if key != "non_field_errors" else ""
            joint = "" if name.startswith("[") else "."
            out.update(
                _flatten(value, f"{prefix}{joint}{name}" if prefix and name else prefix or name)
            )
        return out
    if isinstance(detail, list) and detail and all(isinstance(d, (dict, list)) for d in detail):
        out = {}
        for i, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{i}]"))
        return out
    reasons = detail if isinstance(detail, list) else [detail]
    return {prefix or "request": [str(r) for r in reasons]}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every 4xx has one shape: {detail, code, errors?: {field: [reasons]}}."""
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.status_code)
    if isinstance(exc, ValidationError):
        errors = _flatten(exc.detail)
        general = errors.get("request")
        detail = general[0] if general else "the request is not valid"
        payload = {"detail": detail, "code": "invalid", "errors": errors}
        return Response(payload, status=status.HTTP_400_BAD_REQUEST)
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        response.data["code"] = getattr(detail, "code", "error")
    return response
