"""Inputs a schema-driven generator does not make but users (and attackers) send.

Schemathesis writes valid JSON from Python values, so it never sends a lone surrogate escape,
NaN, a NUL inside a JSON string, 10^5 levels of nesting or an id past PostgreSQL's bigint. Each
operation gets these, one leaf at a time (up to 16 per operation) in a body that is otherwise
valid (a template below, or a body the operation accepted during the generated phase), so the
bad value is the only thing wrong and reaches the code behind the first field check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labeling.rubric import default_rubric
from tests.factories import valid_values
from tests.fuzz.seed import World

BIGINT_OVER = 2**63  # one past PostgreSQL's bigint and SQLite's INTEGER
DEEP = 100_000
SURROGATE = "\ud800"  # written into raw JSON as the escape "\\ud800"
NAN = float("nan")  # written as the bare token NaN, which Python's parser accepts
NUL = "nul\x00byte"


@dataclass
class Hostile:
    what: str
    path: dict[str, Any]
    query: dict[str, Any]
    body: bytes | None = None  # raw JSON sent as application/json


def templates(world: World) -> dict[str, Any]:
    """A valid body per operation, keyed "METHOD /path"."""
    values = valid_values(
        harm="unsafe",
        hazard="hate",
        harmful_spans=[{"start": 0, "end": 3, "label": "toxic"}],
        rationale="because",
    )
    return {
        "POST /api/assignments/{id}/submit/": {
            "values": values,
            "time_spent_ms": 1200,
            "client_started_at": "2025-01-01T00:00:00Z",
            "client_submitted_at": "2025-01-01T00:00:02Z",
        },
        "POST /api/auth/token/": {"username": "fuzz-admin", "password": "pw"},
        "POST /api/campaigns/": {
            "name": "made by the fuzzer",
            "instructions": "rate it",
            "rubric": default_rubric(),
            "overlap": 2,
        },
        "PATCH /api/campaigns/{id}/": {"name": "fuzzed", "instructions": "again"},
        "POST /api/campaigns/{id}/classifier/runs/": {
            "target": "harm",
            "backend": "tfidf_logreg",
            "hyperparameters": {"C": 1.0},
        },
        "POST /api/campaigns/{id}/gold/promote/": {"min_labels": 3, "limit": 5},
        "PUT /api/campaigns/{id}/items/{item_id}/gold/": {"gold_values": {"harm": "safe"}},
        "POST /api/campaigns/{id}/jobs/": {
            "model": world.model,
            "params": {"temperature": 0.7, "max_new_tokens": 8, "seed": 1},
        },
        "POST /api/campaigns/{id}/label-studio/import/": {
            "tasks": [
                {
                    "data": {"item_id": world.items[-1]},
                    "annotations": [
                        {
                            "completed_by": world.member,
                            "result": [
                                {
                                    "from_name": "harm",
                                    "to_name": "output",
                                    "type": "choices",
                                    "value": {"choices": ["safe"]},
                                }
                            ],
                        }
                    ],
                }
            ]
        },
        "POST /api/campaigns/{id}/members/": {"username": "fuzz-helper0", "role": "annotator"},
        "POST /api/campaigns/{id}/prompts/import/": {
            "content": '{"text": "a question?", "category": "c"}',
            "format": "jsonl",
        },
        "POST /api/campaigns/{id}/review/{item_id}/adjudicate/": {
            "dimension": "harm",
            "value": "safe",
            "note": "checked",
        },
        "POST /api/jobs/{id}/restart/": {"force": False},
        "POST /api/models/": {
            "name": "fuzzed model",
            "backend": "imported",
            "path": "",
            "default_decoding": {"temperature": 0.5},
        },
    }


def hostile_inputs(
    raw_op: dict[str, Any], seeded_path: dict[str, Any], template: Any
) -> Iterator[Hostile]:
    params = raw_op.get("parameters", [])
    for p in params:
        if p["in"] == "path" and p["schema"].get("type") == "integer":
            yield Hostile(f"path {p['name']}=2^63", {**seeded_path, p["name"]: BIGINT_OVER}, {})
    for p in params:
        if p["in"] != "query":
            continue
        kind = p["schema"].get("type")
        if kind == "integer" and "enum" not in p["schema"]:
            yield Hostile(f"query {p['name']}=2^63", seeded_path, {p["name"]: BIGINT_OVER})
        elif kind == "string" and "enum" not in p["schema"]:
            yield Hostile(f"query {p['name']} with NUL", seeded_path, {p["name"]: NUL})
    content = (raw_op.get("requestBody") or {}).get("content", {})
    if "application/json" not in content:
        return
    yield Hostile("body nested 10^5 deep", seeded_path, {}, b"[" * DEEP + b"]" * DEEP)
    yield Hostile("body cut short", seeded_path, {}, b'{"a": ')
    yield Hostile("body a JSON list", seeded_path, {}, b"[1, 2]")
    if not isinstance(template, dict):
        return
    yield Hostile("body as is (the baseline)", seeded_path, {}, _dump(template))
    yield Hostile("body with NaN at the top", seeded_path, {}, _dump({**template, "x": NAN}))
    for key in template:
        deep = {**template, key: _deep(template[key])}
        yield Hostile(f"body {key}: nested 500 deep", seeded_path, {}, _dump(deep))
    # One leaf at a time, so the bad value is the only thing wrong with the body.
    for where in _some(list(_leaves(template, ()))):
        leaf = _get(template, where)
        name = _name(where)
        swaps: list[tuple[str, Any]]
        if isinstance(leaf, str):
            swaps = [("lone surrogate", SURROGATE), ("NUL", NUL)]
        elif isinstance(leaf, bool) or leaf is None:
            swaps = []
        else:
            swaps = [("NaN", NAN), ("2^64", 2**64)]
        for what, bad in swaps:
            body = _dump(_put(template, where, bad))
            yield Hostile(f"body {name}: {what}", seeded_path, {}, body)


MAX_LEAVES = 16  # per operation: an even spread over the template's leaves


def _some(paths: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    if len(paths) <= MAX_LEAVES:
        return paths
    step = len(paths) / MAX_LEAVES
    return [paths[int(i * step)] for i in range(MAX_LEAVES)]


def _leaves(value: Any, where: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*where, i))
    else:
        yield where


def _get(value: Any, where: tuple[Any, ...]) -> Any:
    for step in where:
        value = value[step]
    return value


def _put(value: Any, where: tuple[Any, ...], leaf: Any) -> Any:
    if not where:
        return leaf
    head, rest = where[0], where[1:]
    if isinstance(value, dict):
        return {**value, head: _put(value[head], rest, leaf)}
    return [_put(v, rest, leaf) if i == head else v for i, v in enumerate(value)]


def _name(where: tuple[Any, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in where).lstrip(".")


def _dump(body: Any) -> bytes:
    # ensure_ascii writes a lone surrogate as its escape, which is what a client would send.
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()


def _deep(value: Any) -> Any:
    nested: Any = value
    for _ in range(500):
        nested = [nested]
    return nested
