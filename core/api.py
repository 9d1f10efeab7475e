"""Small pieces every app's API shares: the pagination parameters and the page schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

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
