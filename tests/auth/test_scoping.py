"""Roles: two customer keys and an admin key over every family-A endpoint."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from evcharge.auth import NO_CUSTOMER, CustomerScoped, Principal
from evcharge.errors import NotFound
from tests.conftest import ClientFor
from tests.factories import create_key, device_path, register_device

OWN, OTHER, MISSING = 1, 2, 4
BODIES: dict[str, dict[str, Any]] = {
    "PUT": {"Name": "changed", "MaxPowerKw": 7},
    "POST": {"ChargingMode": 0, "BatteryLevel": 50},
    "PATCH": {"BatteryLevel": 60},
}
#: Operations whose body is not the method's usual one.
BODY_OF: dict[str, dict[str, Any]] = {
    "/meterreadings": {"Timestamp": "2026-01-01T00:00:00Z", "EnergyKwh": 1},
    "/capacity": {
        "Slots": [{"Start": "2026-01-01T00:00Z", "End": "2026-01-01T01:00Z", "PowerKw": 5}]
    },
}
#: Writes a customer key may make on its own tree (what a home app does), and their status.
CUSTOMER_WRITES = {"POST": 201, "PATCH": 200}


def body_for(method: str, template: str) -> dict[str, Any] | None:
    for suffix, body in BODY_OF.items():
        if template.endswith(suffix):
            return body
    return BODIES.get(method)


def family_a_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every documented operation under api/customers."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/customers"):
            found.extend((method.upper(), path) for method in sorted(operations))
    assert len(found) >= 17
    return found


def fill(template: str, customer: int, info_id: str) -> str:
    values = {
        "customerId": str(customer),
        "contractNo": "1",
        "gatewayAssetId": "1",
        "deviceAssetId": "1",
        "infoId": info_id,
        "idTag": "TAG-1",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


async def two_customers(client: httpx.AsyncClient) -> dict[int, str]:
    """Customers 1 and 2, each with a full tree and one charging information version."""
    info_ids = {}
    for customer in (OWN, OTHER):
        await register_device(client, customer)
        created = await client.post(device_path(customer), json=BODIES["POST"])
        assert created.status_code == 201, created.text
        info_ids[customer] = created.json()["Id"]
    tagged = await client.put(f"/api/customers/{OWN}/idtags/TAG-1", json={})  # an OCPP id tag
    assert tagged.status_code == 201, tagged.text
    return info_ids


async def snapshot(client: httpx.AsyncClient, customer: int, info_id: str) -> list[Any]:
    paths = [
        f"/api/customers/{customer}",
        f"/api/customers/{customer}/contracts",
        f"/api/customers/{customer}/contracts/1/gateways",
        f"/api/customers/{customer}/contracts/1/gateways/1/evchargingdevices",
        device_path(customer) + "/charginginformation",
        device_path(customer) + f"/charginginformation/{info_id}",
    ]
    return [(await client.get(path)).json() for path in paths]


@pytest.mark.parametrize("who", [OWN, OTHER])
async def test_a_customer_key_gets_404_on_every_operation_of_another_customers_tree(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor, who: int
) -> None:
    info_ids = await two_customers(client)
    victim = OTHER if who == OWN else OWN
    _id, key = await create_key(app, customer=who)
    customer_client = client_for(key)
    before = await snapshot(client, victim, info_ids[victim])

    for method, template in family_a_operations(app):
        if "{customerId}" not in template:
            continue  # the customer list: see test_listing_customers_…
        path = fill(template, victim, info_ids[victim])
        body = body_for(method, template)
        refused = await customer_client.request(method, path, json=body)
        assert refused.status_code == 404, (method, path, refused.text)
        assert refused.json() == {"Message": f"No customer {victim} exists."}
        if (method, template) == ("PUT", "/api/customers/{customerId}"):
            continue  # for an admin that creates the customer
        # Exactly what a customer that does not exist answers (admin, same operation).
        missing = await client.request(method, fill(template, MISSING, info_ids[victim]), json=body)
        assert missing.status_code == 404
        assert missing.json() == {"Message": f"No customer {MISSING} exists."}

    assert await snapshot(client, victim, info_ids[victim]) == before


async def test_a_customer_key_reads_its_own_tree_posts_charging_information_and_nothing_else(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    info_ids = await two_customers(client)
    _id, key = await create_key(app, customer=OWN)
    own = client_for(key)
    before = await snapshot(client, OWN, info_ids[OWN])
    for method, template in family_a_operations(app):
        path = fill(template, OWN, info_ids[OWN])
        response = await own.request(method, path, json=body_for(method, template))
        if method == "GET":
            assert response.status_code == 200, (path, response.text)
        elif method in CUSTOMER_WRITES:
            assert response.status_code == CUSTOMER_WRITES[method], (path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            assert set(response.json()) == {"Message"}
    after = await snapshot(client, OWN, info_ids[OWN])
    assert after[:4] == before[:4]  # registry unchanged; charging information: POST and PATCH
    assert after[4]["TotalCount"] == before[4]["TotalCount"] + 2


async def test_listing_customers_with_a_customer_key_shows_only_its_own(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    await two_customers(client)
    _id, key = await create_key(app, customer=OTHER)
    listed = (await client_for(key).get("/api/customers")).json()
    assert [c["CustomerId"] for c in listed["Items"]] == [OTHER]
    assert listed["TotalCount"] == 1
    everyone = (await client.get("/api/customers")).json()
    assert [c["CustomerId"] for c in everyone["Items"]] == [OWN, OTHER]


async def test_a_key_for_a_customer_not_yet_registered_sees_nothing(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    await two_customers(client)
    _id, key = await create_key(app, customer=MISSING)
    http = client_for(key)
    assert (await http.get("/api/customers")).json()["TotalCount"] == 0
    assert (await http.get(f"/api/customers/{MISSING}")).status_code == 404
    assert (await http.get(f"/api/customers/{OWN}")).status_code == 404


async def test_route_without_customer_scoping_is_404_for_customer_keys(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    """Routes of other features are admin-only unless they declare CustomerScoped."""
    probe = FastAPI()

    @probe.get("/api/probe/admin-only")
    async def admin_only() -> dict[str, str]:
        return {"ok": "yes"}

    @probe.get("/api/probe/scoped")
    async def scoped(principal: CustomerScoped) -> dict[str, str | None]:
        return {"customer": str(principal.customer_uuid)}

    routes_before = len(app.router.routes)
    app.router.include_router(probe.router, dependencies=app.router.dependencies)
    try:
        await register_device(client, OWN)
        customer = (await client.get(f"/api/customers/{OWN}")).json()
        _id, key = await create_key(app, customer=OWN)
        http = client_for(key)
        hidden = await http.get("/api/probe/admin-only")
        assert hidden.status_code == 404
        assert hidden.json()["Message"].startswith("No HTTP resource was found")
        assert (await client.get("/api/probe/admin-only")).status_code == 200
        seen = await http.get("/api/probe/scoped")
        assert seen.json() == {"customer": customer["Id"]}
    finally:
        del app.router.routes[routes_before:]


def test_principal_scoping_calls_for_the_orders_router() -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    admin = Principal("a", "admin")
    customer = Principal("c", "customer", customer_number=1, customer_uuid=mine)
    unregistered = Principal("u", "customer", customer_number=9)

    admin.require_customer_uuid(theirs)
    customer.require_customer_uuid(mine)
    for principal, wanted in ((customer, theirs), (customer, None), (unregistered, mine)):
        with pytest.raises(NotFound) as refused:
            principal.require_customer_uuid(wanted, "No order with Id 'x' exists.")
        assert refused.value.message == "No order with Id 'x' exists."

    assert admin.customer_filter(None) is None
    assert admin.customer_filter(theirs) == theirs
    assert customer.customer_filter(None) == mine
    assert customer.customer_filter(mine) == mine
    assert customer.customer_filter(theirs) == NO_CUSTOMER
    assert unregistered.customer_filter(None) == NO_CUSTOMER


async def test_device_owner_names_the_customer_of_a_device_for_scoping_orders(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from evcharge.auth import device_owner

    await two_customers(client)
    device = (await client.get(device_path(OTHER))).json()
    customer = (await client.get(f"/api/customers/{OTHER}")).json()
    mine = Principal("k", "customer", OWN, uuid.uuid4())
    async with app.state.sessions() as session:
        owner = await device_owner(session, uuid.UUID(device["Id"]))
        assert owner == uuid.UUID(customer["Id"])
        assert await device_owner(session, uuid.uuid4()) is None
    assert not mine.may_see_customer_uuid(owner)
    assert Principal("a", "admin").may_see_customer_uuid(owner)


async def test_a_customer_key_reads_prices_but_cannot_upload_them(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    slots = [{"Start": "2026-03-02T00:00:00Z", "End": "2026-03-02T01:00:00Z", "Price": 0.1}]
    assert (
        await client.put("/api/prices/BE", json={"Currency": "EUR", "Slots": slots})
    ).status_code == 200
    _id, key = await create_key(app, customer=OWN)
    customer = client_for(key)
    read = await customer.get("/api/prices/BE?from=2026-03-02T00:00:00Z")
    assert read.status_code == 200
    assert read.json()["Slots"][0]["Price"] == 0.1
    upload = await customer.put("/api/prices/BE", json={"Currency": "EUR", "Slots": slots})
    assert upload.status_code == 404
