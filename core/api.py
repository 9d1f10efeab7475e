"""Small pieces every app's API shares: the pagination parameters and the page schema."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

from core.text import BadInput, check_value, loads_strict, scrub_value

# The largest id or row count a database integer holds (PostgreSQL's bigint, SQLite's INTEGER):
# a bigger Python int overflows the driver (a 500) wherever it reaches SQL.
MAX_INT64 = 2**63 - 1


def ids_in_range(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """`view` answering 404 when an id in its URL (<int:pk>) exceeds MAX_INT64: no row has such
    an id, and the database driver would overflow on it (a 500)."""

    @functools.wraps(view)  # keeps .cls and .csrf_exempt, which DRF and the schema read
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if any(isinstance(v, int) and v > MAX_INT64 for v in kwargs.values()):
            raise Http404("no such object")
        return view(request, *args, **kwargs)

    return checked


class Pagination(LimitOffsetPagination):
    """DRF's limit/offset pages (a missing or malformed value falls back to the default, as
    there), except that a number beyond MAX_INT64 is a 400 naming the parameter rather than an
    overflow in the database driver."""

    def _checked(self, request: Request, name: str) -> None:
        try:
            number = int(request.query_params[name])
        except (KeyError, ValueError):
            return  # DRF's default applies
        if number > MAX_INT64:
            raise ValidationError({name: [f"must be at most {MAX_INT64}"]})

    def get_limit(self, request: Request) -> int | None:
        self._checked(request, self.limit_query_param)
        return super().get_limit(request)

    def get_offset(self, request: Request) -> int:
        self._checked(request, self.offset_query_param)
        return super().get_offset(request)


PAGE_PARAMS = [
    OpenApiParameter("limit", int, description="rows per page (default 50)"),
    OpenApiParameter("offset", int, description="rows to skip"),
]


def page_of(serializer: type[serializers.Serializer[Any]], name: str) -> type[Any]:
    """The schema of a limit/offset page of `serializer` rows."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


class ImportErrorRowSerializer(serializers.Serializer[Any]):
    row = serializers.IntegerField()
    field = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every 4xx from a domain rule: see core/errors.py."""

    detail = serializers.CharField()
    code = serializers.CharField()
    rows = ImportErrorRowSerializer(many=True, required=False)


# "errors" would shadow Serializer.errors as a class attribute, so it is declared this way.
ErrorSerializer._declared_fields["errors"] = serializers.DictField(
    child=serializers.ListField(child=serializers.CharField()), required=False
)


class StrictJSONField(serializers.JSONField):
    """A JSON input checked like a JSON body (core.text.check_value), also when it comes as a
    string in a form, which DRF's JSONField decodes with a plain json.loads."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            if getattr(data, "is_json_string", False):
                return loads_strict(str(data))
            check_value(data)
        except BadInput as exc:
            # {path: [reason]} under the field's name reads as errors["values.rationale"].
            detail = {exc.path: [exc.reason]} if exc.path else [exc.reason]
            raise serializers.ValidationError(detail) from exc
        except ValueError as exc:
            raise serializers.ValidationError(f"not JSON: {exc}") from exc
        return super().to_internal_value(data)


class CleanJSONField(serializers.JSONField):
    """A stored JSON value for output, each lone surrogate (stored before inputs were checked)
    replaced by U+FFFD so that the response can be encoded."""

    def to_representation(self, value: Any) -> Any:
        return super().to_representation(scrub_value(value))
