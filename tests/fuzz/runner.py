"""Drive schemathesis over every operation of the served OpenAPI schema, in-process.

Each operation gets Hypothesis-generated cases (schemathesis' positive and negative modes, with
the path ids mostly the seeded ones so that requests reach past the 404) and then a fixed set of
hostile inputs (hostile.py). Every response is checked for a 5xx and against the schema (status
codes, content types and bodies the schema does not declare). Nothing stops at the first
failure: the findings are collected, one per (operation, check, status), with the first request
that showed it and how often it happened, so one run reports everything at once.
"""

from __future__ import annotations

import json
import os
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.signals import got_request_exception
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.hostile import Hostile
from tests.fuzz.seed import World

FRESH_LEASE = 987_654_321  # a path id replaced, at call time, by a lease just taken
# Per operation and generation mode; FUZZ_MAX_EXAMPLES=3 for a quick look.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
DEADLINE = timedelta(seconds=20)  # a request slower than this is a hang, not noise


@dataclass
class Finding:
    operation: str
    role: str
    check: str
    status: int
    detail: str
    request: str
    count: int = 1


@dataclass
class Tally:
    role: str
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    findings: dict[tuple[str, str, int, str], Finding] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, finding: Finding) -> None:
        # A 5xx is told apart by where it was raised, a schema failure by what it says.
        key = (finding.operation, finding.check, finding.status, _cause(finding.detail))
        if key in self.findings:
            self.findings[key].count += 1
        else:
            self.findings[key] = finding

    def report(self) -> str:
        lines = [
            f"{self.role}: {self.operations} operations, {self.requests} requests, "
            f"{self.server_errors} responses 5xx, {len(self.findings)} distinct failures"
        ]
        for f in sorted(self.findings.values(), key=lambda f: (f.operation, f.check)):
            lines.append(
                f"  {f.operation}  [{f.check}] {f.status} x{f.count}: {f.detail}\n"
                f"      request: {f.request}"
            )
        return "\n".join(lines)


def load_schema(app: Any) -> Any:
    import schemathesis

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


# The seeded object whose id goes in a path under each prefix (the first that matches).
_SEEDED_BY_PREFIX = [
    ("/api/campaigns/", "campaign"),
    ("/api/models/", "model"),
    ("/api/jobs/", "job"),
    ("/api/classifier-runs/", "run"),
    ("/api/classifier-versions/", "version"),
    ("/api/classifier-scorings/", "scoring"),
    ("/api/cleaning/jobs/", "cleaning_job"),
]


def seeded_path(op: Any, world: World) -> dict[str, Any]:
    """The seeded id for each path parameter of `op`."""
    params: dict[str, Any] = {}
    for name in _path_names(op):
        if name == "item_id":
            params[name] = world.items[0]
        elif name == "user_id":
            params[name] = world.member
        elif op.path.startswith("/api/assignments/"):
            params[name] = FRESH_LEASE
        else:
            for prefix, attr in _SEEDED_BY_PREFIX:
                if op.path.startswith(prefix):
                    params[name] = getattr(world, attr)
                    break
    return params


def _path_names(op: Any) -> list[str]:
    return [p.name for p in op.path_parameters]


def case_strategy(op: Any, world: World) -> Any:
    """Positive and negative cases; three in four with the seeded ids in the path."""
    from schemathesis import GenerationMode

    seeded = seeded_path(op, world)
    options = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        if seeded:
            fixed = op.as_strategy(mode, path_parameters=seeded)
            options += [fixed, fixed, fixed]
        options.append(op.as_strategy(mode))
    return st.one_of(options)


class Caller:
    """Sends cases as one role and turns what comes back into the tally."""

    def __init__(self, world: World, role: str, tally: Tally, schema: Any) -> None:
        from schemathesis.checks import not_a_server_error
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
            status_code_conformance,
        )

        self.world = world
        self.role = role
        self.tally = tally
        self.headers = {"Authorization": f"Token {world.tokens[role]}"}
        self.next_op = schema["/api/campaigns/{id}/next/"]["POST"]
        self.accepted: dict[str, Any] = {}  # per operation, a JSON body it answered 2xx
        self.checks = [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]

    def send(self, case: Any, phase: str = "generated", **raw: Any) -> Any:
        if case.path_parameters.get("id") == FRESH_LEASE:
            # A new dict: the strategy may share the one it was given with every case.
            case.path_parameters = {**case.path_parameters, "id": self._fresh_lease(case)}
        with _server_exceptions() as caught:
            response = case.call(headers=self.headers, **raw)
        self.tally.requests += 1
        self.tally.statuses[f"{case.method} {case.operation.path} ({phase})"][
            response.status_code
        ] += 1
        sketch = _sketch(case, raw)
        if response.status_code < 300 and isinstance(case.body, dict) and not raw:
            self.accepted[f"{case.method} {case.operation.path}"] = case.body
        if response.status_code >= 500:
            self.tally.server_errors += 1
            reason = caught[-1] if caught else response.text[:200]
            self.tally.add(self._finding(case, "5xx", response.status_code, reason, sketch))
            return response
        try:
            case.validate_response(response, checks=self.checks, headers=self.headers)
        except (Exception, BaseExceptionGroup) as group:
            for failure in getattr(group, "exceptions", [group]):
                detail = f"{failure.title}: {_one_line(failure.message)}"
                self.tally.add(
                    self._finding(case, _check_name(failure), response.status_code, detail, sketch)
                )
        return response

    def send_raw(self, op: Any, bad: Hostile) -> None:
        """One hostile input: its raw JSON body replaces the case's."""
        if bad.body is None:
            case = op.Case(path_parameters=dict(bad.path), query=bad.query)
            self.send(case, "hostile")
            return
        case = op.Case(
            path_parameters=dict(bad.path), query=bad.query, body={}, media_type="application/json"
        )
        self.send(case, "hostile", data=bad.body)

    def _finding(self, case: Any, check: str, status: int, detail: str, sketch: str) -> Finding:
        return Finding(
            operation=f"{case.method} {case.operation.path}",
            role=self.role,
            check=check,
            status=status,
            detail=detail[:300],
            request=sketch[:400],
        )

    def _fresh_lease(self, case: Any) -> int:
        lease_case = self.next_op.Case(path_parameters={"id": self.world.campaign})
        r = lease_case.call(headers=self.headers)
        self.tally.requests += 1
        lease = r.json().get("assignment") if r.status_code == 200 else None
        return int(lease["id"]) if lease else FRESH_LEASE


def read_back(schema: Any, caller: Caller) -> None:
    """Every read of the seeded objects once more, after all the fuzzing: what the fuzzer
    stored (and what it may have broken) must still read and export without a 5xx."""
    for op in operations(schema):
        if op.method.upper() != "GET":
            continue
        path = seeded_path(op, caller.world)
        formats: list[str | None] = [None]
        if op.path.endswith("/export/"):
            formats = ["jsonl", "csv", "parquet", "hf", "label_studio"]
        for fmt in formats:
            query: dict[str, str] = {"as": fmt} if fmt else {}
            caller.send(op.Case(path_parameters=dict(path), query=query), "readback")


def fuzz_operation(op: Any, caller: Caller, *, max_examples: int = MAX_EXAMPLES) -> None:
    strategy = case_strategy(op, caller.world)

    @settings(
        max_examples=max_examples * 2,  # both generation modes
        deadline=DEADLINE,
        derandomize=True,  # the same cases every run
        database=None,
        phases=[Phase.explicit, Phase.generate],  # findings are collected, never shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        caller.send(case)

    run()


@contextmanager
def _server_exceptions() -> Iterator[list[str]]:
    caught: list[str] = []

    def record(sender: Any, request: Any = None, **_: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if exc is not None:
            where = _project_frame(exc)
            caught.append(f"{type(exc).__name__}: {_one_line(str(exc))[:160]} at {where}")

    got_request_exception.connect(record)
    try:
        yield caught
    finally:
        got_request_exception.disconnect(record)


def _project_frame(exc: BaseException) -> str:
    """The innermost frame in the project's code (not a library's)."""
    where = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if "site-packages" not in frame.filename and "/lib/python" not in frame.filename:
            where = f"{frame.filename.rsplit('/', 2)[-2:][0]}/{frame.filename.rsplit('/', 1)[-1]}"
            where += f":{frame.lineno}"
    return where


def _cause(detail: str) -> str:
    head, _, where = detail.rpartition(" at ")
    return f"{head.split(':')[0]} at {where}" if where else detail.split(":")[0]


def _check_name(failure: Any) -> str:
    checks = getattr(type(failure), "checks", ())
    return str(checks[0]) if checks else type(failure).__name__


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _sketch(case: Any, raw: dict[str, Any]) -> str:
    """The request in one line: method, path, query and the start of the body."""
    from schemathesis.core import NOT_SET

    path = case.formatted_path
    query = "&".join(f"{k}={v}" for k, v in (case.query or {}).items())
    body: Any = raw.get("data")
    if body is None and case.body is not NOT_SET:
        body = case.body
    if isinstance(body, bytes):
        text = body[:200].decode("utf-8", "backslashreplace")
    elif body is None:
        text = ""
    else:
        try:
            text = json.dumps(body, ensure_ascii=True, default=repr)[:200]
        except (TypeError, ValueError):
            text = repr(body)[:200]
    media = f" ({case.media_type})" if case.media_type and text else ""
    return f"{case.method} {path}{'?' + query if query else ''} {text}{media}".strip()
