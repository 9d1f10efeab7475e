"""Small pieces every app's API shares: the pagination parameters and the page schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.text import BadInput, check_value, loads_strict, scrub_value

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
