"""Untrusted text and JSON from users: what every input path checks before anything is stored.

A lone UTF-16 surrogate (e.g. the JSON escape "\\udc00") decodes into a Python str that cannot be
encoded as UTF-8: stored, it breaks every later reader (exports, review pages). NaN and Infinity
are not JSON, deep nesting exhausts the parser's recursion, and PostgreSQL refuses NUL in text
and jsonb. Each of these is refused here with a reason that names where it was found; `scrub`
and `utf8` are for readers of strings stored before these checks existed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper than any rubric value, Label Studio task or import row needs.
MAX_JSON_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
# SQLite stores NUL, PostgreSQL refuses it in text and jsonb: refused everywhere alike.
NUL_REASON = "contains a NUL character (\\u0000), which cannot be stored"


class BadInput(ValueError):
    """Input that cannot be stored: `path` says where ("" for the whole document)."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def has_lone_surrogate(text: str) -> bool:
    # A well-formed str never holds surrogate code points: a pair decodes to one code point.
    return _SURROGATE.search(text) is not None


def scrub(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (the replacement character): for
    readers of strings stored before the checks, so that they can always be encoded."""
    return _SURROGATE.sub(REPLACEMENT, text)


def scrub_value(value: Any) -> Any:
    """A JSON-like value with every string (keys too) scrubbed; the same object when clean."""
    if isinstance(value, str):
        return scrub(value) if has_lone_surrogate(value) else value
    if isinstance(value, dict):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def utf8(text: str) -> bytes:
    """`text` as UTF-8, a lone surrogate (which UTF-8 cannot encode) as U+FFFD."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return scrub(text).encode()


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_value(value: Any, path: str = "", *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise BadInput for the first lone surrogate or NUL (in a key or a string), non-finite
    float or nesting deeper than `max_depth` in a decoded JSON-like value. Iterative: no
    recursion limit."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > max_depth:
            raise BadInput(f"nested deeper than {max_depth} levels", where)
        if isinstance(node, str):
            if has_lone_surrogate(node):
                raise BadInput("contains a lone UTF-16 surrogate (not valid Unicode text)", where)
            if "\x00" in node:
                raise BadInput(NUL_REASON, where)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise BadInput("must be a finite number (NaN and Infinity are not JSON)", where)
        elif isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str) and has_lone_surrogate(key):
                    raise BadInput("a key contains a lone UTF-16 surrogate", where)
                if isinstance(key, str) and "\x00" in key:
                    raise BadInput(f"a key {NUL_REASON}", where)
                stack.append((child, _join(where, str(key)), depth + 1))
        elif isinstance(node, list | tuple):
            for i, child in enumerate(node):
                stack.append((child, _join(where, i), depth + 1))


def loads_strict(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads that refuses NaN/Infinity, nesting deeper than `max_depth` and lone surrogates,
    raising BadInput (a ValueError) with the reason and, where known, the path."""
    try:
        # NaN and Infinity are decoded, then refused by check_value, which knows their path.
        value = json.loads(text, parse_constant=float)
    except RecursionError as exc:
        raise BadInput(f"nested deeper than {max_depth} levels") from exc
    check_value(value, max_depth=max_depth)
    return value
