"""The schema fuzzer: every operation of the OpenAPI schema, as an admin and as an annotator.

No response may be a 5xx, and every response must be one the schema declares (status code,
content type, body). `make test-fuzz` runs it (on PostgreSQL, as CI does); it runs on the
SQLite default too. Each role's findings are also written to var/test/fuzz/<role>.json.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
from django.conf import settings
from django.core.wsgi import get_wsgi_application

from tests.fuzz.hostile import hostile_inputs, templates
from tests.fuzz.runner import (
    Caller,
    Tally,
    fuzz_operation,
    load_schema,
    operations,
    read_back,
    seeded_path,
)
from tests.fuzz.seed import World, seed_world


@pytest.fixture
def world(transactional_db: Any) -> World:
    # Each role fuzzes a world of its own: what the admin's run deletes or closes is gone.
    return seed_world()


@pytest.fixture
def quiet_request_log() -> Iterator[None]:
    # Every 4xx and 5xx would print a log line (a 5xx a traceback); the tally keeps them.
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ["annotator", "admin"])
def test_no_server_error_and_every_response_in_the_schema(
    role: str, world: World, quiet_request_log: None
) -> None:
    tally = Tally(role)
    schema = load_schema(get_wsgi_application())
    caller = Caller(world, role, tally, schema)
    bodies = templates(world)
    for op in operations(schema):
        tally.operations += 1
        fuzz_operation(op, caller)
        key = f"{op.method.upper()} {op.path}"
        raw_op = schema.raw_schema["paths"][op.path][op.method.lower()]
        template = bodies.get(key, caller.accepted.get(key))
        for bad in hostile_inputs(raw_op, seeded_path(op, world), template):
            caller.send_raw(op, bad)
    read_back(schema, caller)
    out = settings.VAR_DIR / "fuzz"
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        "role": role,
        "operations": tally.operations,
        "requests": tally.requests,
        "server_errors": tally.server_errors,
        "findings": [asdict(f) for f in tally.findings.values()],
        "statuses": {op: dict(sorted(c.items())) for op, c in sorted(tally.statuses.items())},
    }
    (out / f"{role}.json").write_text(json.dumps(summary, indent=1))
    print("\n" + tally.report())
    assert not tally.findings, tally.report()
