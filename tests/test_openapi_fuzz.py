"""Schemathesis against the app's own OpenAPI document: every operation, with an admin
key, a bounded number of examples each, and every check (`st run --checks all`): no 5xx;
status codes, content types, headers and bodies as documented; schema-valid input
accepted and schema-violating input refused. `schemathesis.toml` (also read by `st run`)
says which operations may refuse schema-valid input, and why. Run alone: `make fuzz`."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from evcharge.app import create_app
from evcharge.config import Settings
from tests.conftest import ADMIN_KEY, empty_tables

# Every operation on every `make test` (both databases), kept within its five minutes:
# examples and fuzzing. The coverage phase (boundary values of every keyword, three times
# the rest's time) and the stateful phase run in CI's `make fuzz-all`, in depth.
MAX_EXAMPLES = int(os.environ.get("EVCHARGE_FUZZ_EXAMPLES", "15"))
CONFIG = SchemathesisConfig.from_path(Path(__file__).resolve().parent.parent / "schemathesis.toml")
CONFIG.projects.default.phases.coverage.enabled = False
ALL_CHECKS = CHECKS.get_all()


@schemathesis.serializer("text/html")
def _json_as_html(ctx: Any, value: Any) -> bytes:
    """Family A's JSON formatter reads text/html bodies (the seed lists it): JSON text."""
    return json.dumps(value).encode()


@pytest.fixture(scope="module")
async def fuzzed_app(app: FastAPI, settings: Settings) -> AsyncIterator[FastAPI]:
    """An app of its own: schemathesis serves it from its own event-loop thread. The
    session app's background writes end first: the sync tests stop its event loop, and
    a write left half-way would hold SQLite's write lock throughout (503s after 5 s)."""
    await empty_tables(app)
    yield create_app(settings)
    await empty_tables(app)


# The document does not depend on the database; requests go to `fuzzed_app` (app=…).
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(database_url="sqlite:///:memory:")), config=CONFIG
)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_answers_as_documented(case: Any, fuzzed_app: FastAPI) -> None:
    case.call_and_validate(
        app=fuzzed_app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=ALL_CHECKS
    )
