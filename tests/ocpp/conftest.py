"""A real server on a free port serving the test app, for chargers over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.factories import device_path, put, register_device
from tests.live_server import free_port

PASSWORD = "correct-horse-battery-1"
ID_TAG = "CARD-0001"


@contextlib.asynccontextmanager
async def serving(app: FastAPI, **options: Any) -> AsyncIterator[str]:
    """uvicorn in this event loop; yields the ws:// base of /ocpp."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws_ping_interval=None,
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    scheme = "wss" if "ssl_certfile" in options else "ws"
    try:
        yield f"{scheme}://127.0.0.1:{port}/ocpp"
    finally:
        await app.state.ocpp.shutdown()
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def ocpp_url(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


async def transactions(client: httpx.AsyncClient, cpid: str = "CP-1") -> list[dict[str, Any]]:
    """A charger's transactions once each ended one is settled — an order, or the reason
    it is none. Settlement follows the charger's answer (ocpp/settlement.py): what an
    integrator reading right after a stop sees within milliseconds."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        response = await client.get(f"/api/chargers/{cpid}/transactions")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["Items"]
        pending = [t for t in items if t["StopTime"] and not (t["OrderId"] or t["OrderError"])]
        if not pending or asyncio.get_running_loop().time() > deadline:
            return items
        await asyncio.sleep(0.02)


async def register_charger(
    client: httpx.AsyncClient,
    charge_point_id: str = "CP-1",
    *,
    password: str | None = PASSWORD,
    id_tag: str | None = ID_TAG,
    customer: int = 1,
    device: int = 1,
    max_power_kw: float = 11,
) -> dict[str, Any]:
    """A device with a ChargePointId and password, and an id tag of its customer."""
    fields: dict[str, Any] = {"ChargePointId": charge_point_id}
    if password is not None:
        fields["Password"] = password
    found = await register_device(
        client, customer=customer, device=device, max_power_kw=max_power_kw, **fields
    )
    if id_tag is not None:
        await put(client, f"/api/customers/{customer}/idtags/{id_tag}", {"Status": "Accepted"})
    return found


__all__ = ["device_path"]
