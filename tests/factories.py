"""Plain keyword factories that register things over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from evcharge.auth import service as auth_service
from evcharge.auth.service import Authenticator

SEED_SAMPLE = (
    b'{ "ChargingMode": 0, "SmartModeIsActive": true, "CarInfoId": "sample string 1", '
    b'"CarManufacturer": "sample string 2", "CarModel": "sample string 3", '
    b'"CarGeneration": "sample string 4", "GrossBatterySize": 1.1, "NetBatterySize": 1.1, '
    b'"BatteryLevel": 1.1, "FullyChargedBy": "2025-05-19T22:44:01.1571182+00:00", '
    b'"CustomerId": "sample string 5", "ContractId": 6, "GatewayAssetId": 7, "DeviceAssetId": 8 }'
)
"""The seed A help page's request sample, byte for byte."""


def device_path(customer: int = 1, contract: int = 1, gateway: int = 1, device: int = 1) -> str:
    gateway_path = f"/api/customers/{customer}/contracts/{contract}/gateways/{gateway}"
    return f"{gateway_path}/evchargingdevices/{device}"


async def put(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.put(path, json=body)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


async def register_device(
    client: httpx.AsyncClient,
    customer: int = 1,
    contract: int = 1,
    gateway: int = 1,
    device: int = 1,
    *,
    max_power_kw: float = 11,
    gateway_max_power_kw: float | None = None,
    price_area: str | None = None,
    **device_fields: Any,
) -> dict[str, Any]:
    """Customer, contract, gateway and device (each created only if missing); returns the device."""
    base = f"/api/customers/{customer}"
    if (await client.get(base)).status_code == 404:
        await put(client, base, {"Name": f"Customer {customer}"})
    contract_path = f"{base}/contracts/{contract}"
    if (await client.get(contract_path)).status_code == 404:
        await put(client, contract_path, {"Name": f"Contract {contract}"})
    gateway_path = f"{contract_path}/gateways/{gateway}"
    if (await client.get(gateway_path)).status_code == 404:
        body: dict[str, Any] = {"Name": f"Gateway {gateway}", "PriceArea": price_area}
        if gateway_max_power_kw is not None:
            body["MaxPowerKw"] = gateway_max_power_kw
        await put(client, gateway_path, body)
    return await put(
        client,
        device_path(customer, contract, gateway, device),
        {"Name": f"Device {device}", "MaxPowerKw": max_power_kw, **device_fields},
    )


def hourly_prices(
    start: datetime, prices: list[float], *, minutes: int = 60
) -> list[dict[str, Any]]:
    """Consecutive slots from `start`, one per price."""
    step = timedelta(minutes=minutes)
    return [
        {
            "Start": (start + i * step).isoformat(),
            "End": (start + (i + 1) * step).isoformat(),
            "Price": price,
        }
        for i, price in enumerate(prices)
    ]


async def put_prices(
    client: httpx.AsyncClient, area: str, slots: list[dict[str, Any]], currency: str = "EUR"
) -> dict[str, Any]:
    response = await client.put(f"/api/prices/{area}", json={"Currency": currency, "Slots": slots})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def create_key(app: FastAPI, customer: int | None = None) -> tuple[str, str]:
    """A stored key (admin without `customer`), as `evcharge keys create` makes it: (id, key)."""
    async with app.state.sessions() as session:
        row, key = await auth_service.create_key(
            session, "admin" if customer is None else "customer", customer
        )
        await session.commit()
        return row.id, key


async def revoke_key(app: FastAPI, key_id: str) -> None:
    """Revoke as `evcharge keys revoke` does. On PostgreSQL the app's processes learn of it
    by NOTIFY, asynchronously: wait for that event (never for time) before returning."""
    changes = app.state.authenticator.changes
    heard = getattr(changes, "notified", None)
    async with app.state.sessions() as session:
        await auth_service.revoke_key(session, key_id)
        await session.commit()
    if heard is not None and changes.listening:
        for _ in range(1000):
            if changes.notified > heard:
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the revocation was never notified")


@contextmanager
def rate_limited(app: FastAPI, rate: float, burst: int, clock: list[float]) -> Iterator[None]:
    """The app's authenticator with a small bucket and a clock the test moves."""
    authenticator: Authenticator = app.state.authenticator
    saved = authenticator.rate, authenticator.burst, authenticator.clock
    authenticator.limit(rate, burst, lambda: clock[0])
    try:
        yield
    finally:
        authenticator.limit(*saved)


async def customer_uuid(client: httpx.AsyncClient, customer: int = 1) -> str:
    response = await client.get(f"/api/customers/{customer}")
    assert response.status_code == 200, response.text
    uid: str = response.json()["Id"]
    return uid


async def order_parties(
    client: httpx.AsyncClient, customer: int = 1, device: int = 1, *, max_power_kw: float = 11
) -> tuple[str, str]:
    """(device uuid, customer uuid) of a registered device, ready for charge orders."""
    registered = await register_device(
        client, customer=customer, device=device, max_power_kw=max_power_kw
    )
    return registered["Id"], await customer_uuid(client, customer)


def order_body(device_id: str, customer_id: str, **fields: Any) -> dict[str, Any]:
    """A valid ChargingOrderRequest (one hour at 11 kW); `fields` override or add."""
    body: dict[str, Any] = {
        "ChargingDeviceId": device_id,
        "CustomerId": customer_id,
        "StartTime": "2025-11-08T18:00:00+00:00",
        "EndTime": "2025-11-08T19:00:00+00:00",
        "ElectricQuantity": 7.5,
        "DiscountPrice": 3.0,
        "Remark": "session 1",
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}
