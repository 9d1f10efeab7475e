"""The API's JSON parser: strict about what it lets in (see core.text).

DRF's JSONParser accepts lone UTF-16 surrogates (stored, they break every export), and a body
nested tens of thousands deep exhausts its recursion (a 500). This one answers 400 in the API's
error shape, naming the field: {"detail", "code", "errors": {"values.rationale": [reason]}}.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from core.text import BadInput, loads_strict


def bad_input_errors(exc: BadInput, field: str = "") -> dict[str, list[str]]:
    """A BadInput found at `exc.path` inside the value of `field` as the API's `errors`:
    {"field.path": [reason]} ("request" for the whole body)."""
    if exc.path.startswith("["):
        path = field + exc.path
    else:
        path = ".".join(p for p in (field, exc.path) if p)
    return {path or "request": [exc.reason]}


def _encoding(parser_context: dict[str, Any]) -> str:
    """The body's charset; only text codecs (str.encode refuses bytes-to-bytes ones such as
    bz2_codec, which would decompress a small body into a huge one)."""
    encoding = str(parser_context.get("encoding") or settings.DEFAULT_CHARSET)
    try:
        "".encode(encoding)
    except (LookupError, UnicodeError) as exc:
        raise ParseError(f"unsupported charset {encoding!r} in the Content-Type header") from exc
    return encoding


class StrictJSONParser(JSONParser):
    """JSONParser with core.text.loads_strict: NaN/Infinity, nesting deeper than 64 levels,
    lone surrogates and NUL characters are refused with a 400 naming where they were found."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = _encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding} text") from exc
        try:
            return loads_strict(text)
        except BadInput as exc:
            # Not a DomainError: core.errors imports DRF's views, which import this parser.
            raise ValidationError(bad_input_errors(exc)) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
