"""No double booking, no double counting — also when requests arrive at the same instant.

Runs on SQLite (BEGIN IMMEDIATE serialises the check-and-insert) and on PostgreSQL
(exclusion and unique constraints decide between concurrent transactions)."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import order_body, order_parties
from tests.orders.wire import CREATE, total_orders

SIMULTANEOUS = 20


async def test_simultaneous_overlapping_orders_on_one_device_book_exactly_one(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    bodies = [
        order_body(
            device,
            customer,
            Id=f"race-{n}",
            StartTime=f"2025-11-08T10:{n:02d}:00Z",
            EndTime=f"2025-11-08T11:{n:02d}:00Z",
        )
        for n in range(SIMULTANEOUS)
    ]
    responses = await asyncio.gather(*(client.post(CREATE, json=body) for body in bodies))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (SIMULTANEOUS - 1), [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()["url"].split("=")[1]
    for response in responses:
        if response.status_code == 409:
            assert winner in response.json()["message"]
    assert await total_orders(client) == 1


async def test_simultaneous_identical_orders_with_one_id_store_one_and_all_succeed(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="same-order")
    responses = await asyncio.gather(*(client.post(CREATE, json=body) for _ in range(SIMULTANEOUS)))
    assert [r.status_code for r in responses] == [200] * SIMULTANEOUS, [r.text for r in responses]
    assert {r.json()["url"] for r in responses} == {"/api/ChargeOrder/GetOrder?id=same-order"}
    assert sum(r.json()["message"] == "The order was created." for r in responses) == 1
    assert await total_orders(client) == 1


async def test_simultaneous_distinct_orders_on_many_devices_are_all_stored(
    client: httpx.AsyncClient,
) -> None:
    parties = [await order_parties(client, device=n) for n in range(1, 5)]
    bodies = [
        order_body(
            device,
            customer,
            StartTime=f"2025-11-08T{hour:02d}:00:00Z",
            EndTime=f"2025-11-08T{hour:02d}:59:59Z",
        )
        for device, customer in parties
        for hour in range(5)
    ]
    responses = await asyncio.gather(*(client.post(CREATE, json=body) for body in bodies))
    assert [r.status_code for r in responses] == [200] * len(bodies)
    assert await total_orders(client) == len(bodies)
