"""Schemathesis against the app's own OpenAPI document: every operation, with an admin
key, a bounded number of examples each. Standard checks: no 5xx, and status codes,
content types, headers and bodies as documented. Run alone: `make fuzz`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from evcharge.app import create_app
from evcharge.config import Settings
from tests.conftest import ADMIN_KEY, empty_tables

MAX_EXAMPLES = int(os.environ.get("EVCHARGE_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
async def fuzzed_app(app: FastAPI, settings: Settings) -> AsyncIterator[FastAPI]:
    """An app of its own: schemathesis serves it from its own event-loop thread."""
    yield create_app(settings)
    await empty_tables(app)


# The document does not depend on the database; requests go to `fuzzed_app` (app=…).
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(database_url="sqlite:///:memory:"))
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
        app=fuzzed_app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=CHECKS
    )
