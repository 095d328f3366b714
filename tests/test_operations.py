"""Health, readiness, OpenAPI and behaviour while the database is away."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from evcharge.app import create_app
from evcharge.config import Settings
from tests.conftest import ADMIN_KEY

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/nowhere"


@pytest.fixture
async def offline_client() -> AsyncIterator[httpx.AsyncClient]:
    """An app whose database does not answer (nothing listens on port 9)."""
    settings = Settings(
        database_url=UNREACHABLE, db_timeout_seconds=1, log_level="error", admin_key=ADMIN_KEY
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as http:
        yield http
    await app.state.authenticator.close()
    await app.state.engine.dispose()


async def test_healthz_needs_no_database(offline_client: httpx.AsyncClient) -> None:
    response = await offline_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["schedule"] in ("leader", "standby", "off")


async def test_readyz_is_503_without_a_database(offline_client: httpx.AsyncClient) -> None:
    response = await offline_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_readyz_is_200_with_a_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200


async def test_requests_answer_503_with_retry_after_while_the_database_is_away(
    offline_client: httpx.AsyncClient,
) -> None:
    path = "/api/customers/1/contracts/1/gateways/1/evchargingdevices/1"
    for response in (
        await offline_client.post(path, json={"BatteryLevel": 5}),
        await offline_client.get("/api/customers"),
        await offline_client.put("/api/customers/1", json={"Name": "x"}),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert "unavailable" in response.json()["Message"]


async def test_a_stored_key_cannot_be_checked_while_the_database_is_away_so_503(
    offline_client: httpx.AsyncClient,
) -> None:
    stored_key = "evk_0123456789abcdef_" + "x" * 43
    headers = {"Authorization": f"Bearer {stored_key}"}
    response = await offline_client.get("/api/customers", headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()


async def test_sqlite_runs_in_wal_mode_with_full_synchronous(
    app: FastAPI, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    async with app.state.engine.connect() as connection:
        journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        synchronous = (await connection.exec_driver_sql("PRAGMA synchronous")).scalar()
    assert journal == "wal"
    assert synchronous == 2  # FULL


def test_openapi_describes_every_endpoint_with_its_shapes() -> None:
    app = create_app(Settings(database_url=UNREACHABLE))
    document = app.openapi()
    seed = (
        "/api/customers/{customerId}/contracts/{contractNo}/gateways/{gatewayAssetId}"
        "/evchargingdevices/{deviceAssetId}"
    )
    post = document["paths"][seed]["post"]
    body_ref = post["requestBody"]["content"]["text/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/EvChargingInformationReq"
    request_fields = document["components"]["schemas"]["EvChargingInformationReq"]["properties"]
    assert set(request_fields) == {
        "ChargingMode",
        "SmartModeIsActive",
        "CarInfoId",
        "CarManufacturer",
        "CarModel",
        "CarGeneration",
        "GrossBatterySize",
        "NetBatterySize",
        "BatteryLevel",
        "FullyChargedBy",
        "CustomerId",
        "ContractId",
        "GatewayAssetId",
        "DeviceAssetId",
    }
    assert "201" in post["responses"]
    assert "400" in post["responses"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith(("/api/customers", "/api/prices")):  # family A: 400, never 422
                assert "422" not in operation["responses"], (path, method)
            if method in ("put", "post"):
                assert "requestBody" in operation, (path, method)
