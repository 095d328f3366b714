"""Roles on family B: a customer key reads and writes only its own customer's orders."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from tests.conftest import ClientFor
from tests.factories import create_key, order_body, order_parties, revoke_key
from tests.orders.wire import CREATE


async def two_customers_with_orders(client: httpx.AsyncClient) -> dict[int, tuple[str, str]]:
    """Customers 1 and 2, each with a device and one order (Ids o1, o2)."""
    parties = {}
    for customer in (1, 2):
        device, owner = await order_parties(client, customer=customer)
        created = await client.post(CREATE, json=order_body(device, owner, Id=f"o{customer}"))
        assert created.status_code == 200, created.text
        parties[customer] = (device, owner)
    return parties


async def test_another_customers_order_reads_as_missing(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    await two_customers_with_orders(client)
    _id, key = await create_key(app, customer=1)
    own = client_for(key)
    assert (await own.get("/api/ChargeOrder/GetOrder?id=o1")).status_code == 200
    hidden = await own.get("/api/ChargeOrder/GetOrder?id=o2")
    missing = await own.get("/api/ChargeOrder/GetOrder?id=o9")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["message"] == missing.json()["message"].replace("o9", "o2")
    assert hidden.json()["status"] == 0


async def test_listings_and_summaries_show_only_the_keys_own_orders(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    parties = await two_customers_with_orders(client)
    _id, key = await create_key(app, customer=1)
    own = client_for(key)
    listing = (await own.get("/api/ChargeOrder/GetOrders")).json()
    assert [o["Id"] for o in listing["Items"]] == ["o1"]
    other = parties[2][1]
    asked_for_other = (await own.get(f"/api/ChargeOrder/GetOrders?customerId={other}")).json()
    assert asked_for_other["Items"] == []
    by_device = (await own.get(f"/api/ChargeOrder/GetOrders?deviceId={parties[2][0]}")).json()
    assert by_device["Items"] == []
    summary = (await own.get("/api/ChargeOrder/GetSummary?groupBy=customer")).json()
    assert [g["Key"] for g in summary["Groups"]] == [parties[1][1]]
    admin_summary = (await client.get("/api/ChargeOrder/GetSummary?groupBy=customer")).json()
    assert len(admin_summary["Groups"]) == 2


async def test_a_customer_key_cannot_order_for_another_customer_or_on_their_device(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    parties = await two_customers_with_orders(client)
    _id, key = await create_key(app, customer=1)
    own = client_for(key)
    (my_device, me), (their_device, them) = parties[1], parties[2]
    later = {"StartTime": "2025-11-09T18:00:00Z", "EndTime": "2025-11-09T19:00:00Z"}
    nobody, no_device = str(uuid.uuid4()), str(uuid.uuid4())

    for_them = await own.post(CREATE, json=order_body(their_device, them, Id="x1", **later))
    not_there = await own.post(CREATE, json=order_body(no_device, nobody, Id="x2", **later))
    assert for_them.status_code == not_there.status_code == 400

    def problems(response: httpx.Response, device: str, customer: str) -> dict[str, list[str]]:
        found = {e["field"]: e["errorMessages"] for e in response.json()["errors"]}
        return {
            field: [m.replace(device, "D").replace(customer, "C") for m in messages]
            for field, messages in found.items()
        }

    assert problems(for_them, their_device, them) == problems(not_there, no_device, nobody)

    on_their_device = await own.post(CREATE, json=order_body(their_device, me, Id="x3", **later))
    assert on_their_device.status_code == 400
    assert [e["field"] for e in on_their_device.json()["errors"]] == ["ChargingDeviceId"]

    mine = await own.post(CREATE, json=order_body(my_device, me, Id="x4", **later))
    assert mine.status_code == 200, mine.text
    assert (await client.get("/api/ChargeOrder/GetOrders")).json()["TotalCount"] == 3


async def test_a_revoked_key_cannot_create_orders_from_the_next_request_on(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    device, owner = await order_parties(client)
    key_id, key = await create_key(app, customer=1)
    own = client_for(key)
    assert (await own.post(CREATE, json=order_body(device, owner, Id="a"))).status_code == 200
    await revoke_key(app, key_id)
    later = order_body(
        device, owner, Id="b", StartTime="2025-11-09T18:00:00Z", EndTime="2025-11-09T19:00:00Z"
    )
    refused = await own.post(CREATE, json=later)
    assert refused.status_code == 401
    assert refused.json()["status"] == 0
    assert "WWW-Authenticate" in refused.headers
