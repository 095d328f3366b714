"""Refusals made before any route runs (key, size, rate) still answer in the shape of
the family the path belongs to — here a stand-in for family B's envelope."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from evcharge.compat import errors
from evcharge.errors import DomainError
from tests.conftest import ClientFor
from tests.factories import create_key, rate_limited

PREFIX = "/api/chargeorder"


def envelope(request: Request, error: DomainError) -> Response:
    body = {"status": 0, "message": error.message, "errors": [], "url": None}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


@pytest.fixture
def family_b() -> Iterator[None]:
    errors.register_family(PREFIX, envelope)
    try:
        yield
    finally:
        errors._families.pop(PREFIX, None)


@pytest.mark.usefixtures("family_b")
async def test_401_413_and_429_take_the_envelope_of_family_b(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    anonymous = await client_for().get("/api/ChargeOrder/GetOrders")
    assert anonymous.status_code == 401
    assert anonymous.json()["status"] == 0
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")

    too_big = await client.post(
        "/api/ChargeOrder/CreateOrder",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)},
    )
    assert too_big.status_code == 413
    assert too_big.json()["status"] == 0

    _id, key = await create_key(app, customer=1)
    http = client_for(key)
    with rate_limited(app, rate=0.001, burst=1, clock=[3_000_000.0]):
        await http.get("/api/ChargeOrder/GetOrders")
        limited = await http.get("/api/ChargeOrder/GetOrders")
    assert limited.status_code == 429
    assert limited.json()["status"] == 0
    assert "Retry-After" in limited.headers
    # Family A keeps its own shape meanwhile.
    assert set((await client_for().get("/api/customers")).json()) == {"Message"}
