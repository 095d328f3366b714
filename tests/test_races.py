"""Concurrent writes against a real server: `evcharge serve` with 4 worker processes, on
SQLite and on PostgreSQL. No 500, no false 503 — each race ends in its documented status.

The in-process tests elsewhere share one event loop and one connection pool; here the
writers are separate processes with their own pools, as in production."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import ADMIN_HEADERS, ADMIN_KEY, empty_tables
from tests.factories import (
    create_key,
    device_path,
    hourly_prices,
    order_body,
    register_device,
)
from tests.live_server import free_port

CREATE = "/api/ChargeOrder/CreateOrder"
WORKERS = 4


@pytest.fixture(scope="module")
async def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """`evcharge serve --workers 4` on the test database; its base URL. Waited for
    without blocking the event loop: the in-process app's background work (sweep,
    settlement) must be able to finish a transaction, or on SQLite its write lock keeps
    the new server's start-up waiting until it gives up."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVCHARGE_")}
    env.update(
        EVCHARGE_DATABASE_URL=database_url,
        EVCHARGE_PORT=str(port),
        EVCHARGE_WORKERS=str(WORKERS),
        EVCHARGE_ADMIN_KEY=ADMIN_KEY,
        EVCHARGE_LOG_LEVEL="warning",
        # Correctness under contention, not this shared machine's speed: a queue of writers
        # longer than the default 5 s is a (documented, true) 503 that would hide the rest.
        EVCHARGE_DB_TIMEOUT_SECONDS="60",
        # 4 × 5 connections: the test PostgreSQL is shared (max_connections 100), and a
        # refused connection is a true 503 that would hide what is tested here.
        EVCHARGE_DB_POOL_SIZE="5",
    )
    log = (tmp_path_factory.mktemp("server") / "server.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evcharge", "serve", env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Four workers import the app at once: seconds on an idle machine, minutes on a
        # shared one under load; only a server that never answers fails the fixture.
        deadline = time.monotonic() + 600
        async with httpx.AsyncClient(timeout=1) as probe:
            while True:
                assert process.returncode is None, f"server exited, see {log.name}"
                try:
                    if (await probe.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"server did not start, see {log.name}"
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
        log.close()


@pytest.fixture
async def http(server: str, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of the real server; the tables are emptied afterwards."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(
        base_url=server, headers=ADMIN_HEADERS, timeout=60, limits=limits
    ) as client:
        yield client
    await empty_tables(app)


def no_server_errors(responses: list[httpx.Response]) -> Counter[int]:
    statuses = Counter(r.status_code for r in responses)
    failures = [r.text for r in responses if r.status_code >= 500]
    assert not failures, (statuses, failures[:3])
    return statuses


START = datetime(2030, 1, 7, tzinfo=UTC)


async def test_a_hundred_parallel_writes_over_one_gateways_devices_all_succeed(
    http: httpx.AsyncClient,
) -> None:
    """Charging information, device and gateway replacements and a price upload, all of
    which replan the one gateway: they queue on its lock instead of deadlocking."""
    for device in (1, 2, 3):
        await register_device(http, device=device, price_area="NO1", gateway_max_power_kw=22)
    gateway = device_path().rsplit("/evchargingdevices", 1)[0]
    deadline = (START + timedelta(hours=20)).isoformat()
    info = {"ChargingMode": 1, "SmartModeIsActive": True, "NetBatterySize": 60,
            "BatteryLevel": 20, "FullyChargedBy": deadline}  # fmt: skip
    prices = {"Currency": "EUR", "Slots": hourly_prices(START, [0.1 * (h % 5) for h in range(24)])}

    def write(n: int) -> Any:
        device = device_path(device=n % 3 + 1)
        kind = n % 10
        if kind == 7:
            return http.put(device, json={"Name": f"Device {n}", "MaxPowerKw": 7 + n % 5})
        if kind == 8:
            body = {"Name": f"G {n}", "MaxPowerKw": 22 + n % 3, "PriceArea": "NO1"}
            return http.put(gateway, json=body)
        if kind == 9:
            return http.put("/api/prices/NO1", json=prices)
        return http.post(device, json={**info, "BatteryLevel": n % 90})

    responses = await asyncio.gather(*(write(n) for n in range(100)))
    statuses = no_server_errors(responses)
    assert statuses == Counter({201: 70, 200: 30}), [
        r.text for r in responses if r.status_code > 201
    ]
    total = 0
    for device in (1, 2, 3):
        versions = await http.get(f"{device_path(device=device)}/charginginformation")
        assert versions.status_code == 200, versions.text
        total += versions.json()["TotalCount"]
    assert total == 70


async def test_twenty_identical_puts_of_a_new_entity_create_it_once(
    http: httpx.AsyncClient,
) -> None:
    """Idempotent PUT: one 201, the others replace it (200) — never a 409 or 500."""
    paths = [
        ("/api/customers/7", {"Name": "Same"}),
        ("/api/customers/7/contracts/3", {"Name": "Same"}),
        ("/api/customers/7/contracts/3/gateways/5", {"Name": "Same", "MaxPowerKw": 11}),
        (device_path(7, 3, 5, 9), {"Name": "Same", "MaxPowerKw": 11}),
    ]
    for path, body in paths:
        responses = await asyncio.gather(*(http.put(path, json=body) for _ in range(20)))
        statuses = no_server_errors(responses)
        assert statuses == Counter({201: 1, 200: 19}), (path, [r.text for r in responses])
        assert len({r.json()["Id"] for r in responses}) == 1


async def test_parallel_claims_of_one_charge_point_id_give_it_to_one_device(
    http: httpx.AsyncClient,
) -> None:
    for device in range(1, 11):
        await register_device(http, device=device, gateway=device % 3 + 1)
    claims = [
        http.put(
            device_path(gateway=device % 3 + 1, device=device),
            json={"Name": "Claim", "MaxPowerKw": 11, "ChargePointId": "CP-RACE-1"},
        )
        for device in range(1, 11)
    ]
    responses = await asyncio.gather(*claims)
    statuses = no_server_errors(responses)
    assert statuses == Counter({200: 1, 409: 9}), [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert list(refused.json()["ModelState"]) == ["request.ChargePointId"], refused.text
    new_devices = [
        http.put(
            device_path(gateway=4, device=device),
            json={"Name": "New", "MaxPowerKw": 11, "ChargePointId": "CP-RACE-2"},
        )
        for device in range(1, 11)
    ]
    await register_device(http, gateway=4, device=99)
    responses = await asyncio.gather(*new_devices)
    statuses = no_server_errors(responses)
    assert statuses == Counter({201: 1, 409: 9}), [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert list(refused.json()["ModelState"]) == ["request.ChargePointId"], refused.text


async def test_create_order_racing_the_delete_of_its_device_is_stored_or_refused(
    http: httpx.AsyncClient,
) -> None:
    """Either the orders win (the DELETE is a 409 naming them) or the DELETE wins (the
    orders are the 400 of a device that does not exist)."""
    customer = None
    outcomes: Counter[tuple[int, ...]] = Counter()
    for round_ in range(6):
        registered = await register_device(http, device=round_ + 1)
        if customer is None:
            customer = (await http.get("/api/customers/1")).json()["Id"]
        orders = [
            http.post(
                CREATE,
                json=order_body(
                    registered["Id"],
                    customer,
                    Id=f"race-{round_}-{n}",
                    StartTime=(START + timedelta(hours=n)).isoformat(),
                    EndTime=(START + timedelta(hours=n + 1)).isoformat(),
                ),
            )
            for n in range(5)
        ]
        deletion = http.delete(device_path(device=round_ + 1))
        *placed, deleted = await asyncio.gather(*orders, deletion)
        no_server_errors([*placed, deleted])
        stored = [r for r in placed if r.status_code == 200]
        missing = [r for r in placed if r.status_code == 400]
        assert len(stored) + len(missing) == len(placed), [r.text for r in placed]
        for refused in missing:
            assert refused.json()["errors"][0]["field"] == "ChargingDeviceId", refused.text
        if deleted.status_code == 204:
            assert not stored, "an order was acknowledged for a device that was deleted"
        else:
            assert deleted.status_code == 409, deleted.text
            assert stored, deleted.text
        outcomes[(deleted.status_code, len(stored))] += 1
    assert sum(outcomes.values()) == 6


async def test_overlapping_orders_with_a_customer_key_are_409_as_with_an_admin_key(
    http: httpx.AsyncClient, app: FastAPI, server: str
) -> None:
    registered = await register_device(http)
    customer = (await http.get("/api/customers/1")).json()["Id"]
    _key_id, key = await create_key(app, customer=1)
    bodies = [
        order_body(
            registered["Id"],
            customer,
            Id=f"overlap-{n}",
            StartTime=(START + timedelta(minutes=n)).isoformat(),
            EndTime=(START + timedelta(minutes=n + 60)).isoformat(),
        )
        for n in range(20)
    ]
    async with httpx.AsyncClient(
        base_url=server, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as customer_http:
        responses = await asyncio.gather(*(customer_http.post(CREATE, json=b) for b in bodies))
        statuses = no_server_errors(responses)
        assert statuses == Counter({200: 1, 409: 19}), [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()["url"].split("=")[1]
        for refused in (r for r in responses if r.status_code == 409):
            assert winner in refused.json()["message"], refused.text
        # Sequentially too: the refused insert must not break the ownership check's reads.
        again = await customer_http.post(CREATE, json={**bodies[3], "Id": "overlap-again"})
        assert again.status_code == 409, again.text
        assert winner in again.json()["message"]
