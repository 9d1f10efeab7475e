"""Untrusted text and JSON from users: what every input path checks before anything is stored.

A lone UTF-16 surrogate (e.g. the JSON escape "\\udc00") decodes into a Python str that cannot be
encoded as UTF-8: stored, it breaks every later reader (exports, review pages). NaN and Infinity
are not JSON, and deep nesting exhausts the parser's recursion. Each of these is refused here
with a reason that names where it was found.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper than any rubric value, Label Studio task or import row needs.
MAX_JSON_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")


class BadInput(ValueError):
    """Input that cannot be stored: `path` says where ("" for the whole document)."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def has_lone_surrogate(text: str) -> bool:
    # A well-formed str never holds surrogate code points: a pair decodes to one code point.
    return _SURROGATE.search(text) is not None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_value(value: Any, path: str = "", *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise BadInput for the first lone surrogate (in a key or a string), NUL character in a
    string, non-finite float or nesting deeper than `max_depth` in a decoded JSON-like value.
    Iterative: no recursion limit."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > max_depth:
            raise BadInput(f"nested deeper than {max_depth} levels", where)
        if isinstance(node, str):
            if has_lone_surrogate(node):
                raise BadInput("contains a lone UTF-16 surrogate (not valid Unicode text)", where)
            if "\x00" in node:  # PostgreSQL stores no U+0000, in text or in jsonb
                raise BadInput("contains a NUL character (U+0000)", where)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise BadInput("must be a finite number", where)
        elif isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str) and has_lone_surrogate(key):
                    raise BadInput("a key contains a lone UTF-16 surrogate", where)
                stack.append((child, _join(where, str(key)), depth + 1))
        elif isinstance(node, list | tuple):
            for i, child in enumerate(node):
                stack.append((child, _join(where, i), depth + 1))


def _reject_constant(name: str) -> Any:
    raise BadInput(f"{name} is not valid JSON")


def loads_strict(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads that refuses NaN/Infinity, nesting deeper than `max_depth` and lone surrogates,
    raising BadInput (a ValueError) with the reason and, where known, the path."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise BadInput(f"nested deeper than {max_depth} levels") from exc
    check_value(value, max_depth=max_depth)
    return value
