"""One parser of path ids: routing, validation and authorisation see the same number, so no
spelling of another customer's id gets a customer key into that customer's data."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from evcharge.auth.principal import CustomerTree, Principal
from evcharge.compat.params import NotInt32, parse_int32
from evcharge.errors import Invalid
from evcharge.models import metadata
from tests.conftest import ClientFor
from tests.factories import create_key, device_path, order_body, register_device

OWN = (1, 1, 1, 1)
VICTIM = (2, 3, 4, 5)
"""customer, contract, gateway, device of the other customer: all numbers differ from
the key's own, so a spelling that slipped through would show."""

NON_CANONICAL = {
    "decimal": "{}.0",
    "plus": "+{}",
    "leading zero": "0{}",
    "space": " {}",
    "exponent": "{}e0",
    "full-width": "{fw}",
    "percent-encoded": "{pct}",
}
PATH_PARAMS = ("customerId", "contractNo", "gatewayAssetId", "deviceAssetId")


def spell(number: int, form: str) -> str:
    full_width = "".join(chr(0xFF10 + int(d)) for d in str(number))
    percent = "".join(f"%{ord(d):02X}" for d in str(number))
    return NON_CANONICAL[form].format(number, fw=full_width, pct=percent)


def uuid_forms(value: str) -> list[str]:
    """Other spellings of a uuid that .NET's Guid parser (and Python's) accept."""
    u = uuid.UUID(value)
    return [str(u).upper(), "{" + str(u) + "}", u.hex, f"urn:uuid:{u}"]


async def dump(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the keys' own bookkeeping (last use, tokens) and the
    server processes' liveness (their sweep writes it on a timer, whatever is requested)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with app.state.engine.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name in ("api_keys", "ocpp_processes"):
                continue
            rows = (await connection.execute(select(table))).all()
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return tables


async def victim_data(client: httpx.AsyncClient) -> dict[str, str]:
    """Both customers' trees, a charging information and an order each; the victim's ids."""
    found: dict[str, str] = {}
    for who, (customer, contract, gateway, device) in (("own", OWN), ("victim", VICTIM)):
        registered = await register_device(
            client, customer, contract, gateway, device, ChargePointId=f"CP-{who}"
        )
        path = device_path(customer, contract, gateway, device)
        info = await client.post(path, json={"ChargingMode": 0, "BatteryLevel": 50})
        assert info.status_code == 201, info.text
        customer_uuid = (await client.get(f"/api/customers/{customer}")).json()["Id"]
        order = await client.post(
            "/api/ChargeOrder/CreateOrder",
            json=order_body(registered["Id"], customer_uuid, Id=f"order-of-{who}"),
        )
        assert order.status_code == 200, order.text
        found[who + "_device"] = registered["Id"]
        found[who + "_customer"] = customer_uuid
        found[who + "_info"] = info.json()["Id"]
    tag = await client.put(f"/api/customers/{VICTIM[0]}/idtags/CARD-VICTIM", json={})
    assert tag.status_code == 201, tag.text
    return found


async def operations(client: httpx.AsyncClient) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) of every operation the API describes."""
    document = (await client.get("/openapi.json")).json()
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            found.append((method.upper(), path, operation))
    assert len(found) >= 25
    return found


def request_for(
    method: str, template: str, operation: dict[str, Any], form: str, ids: dict[str, str], n: int
) -> tuple[str, dict[str, str], Any]:
    """Path, query and JSON body of one operation aimed at the victim's things."""
    numbers = dict(zip(PATH_PARAMS, VICTIM, strict=True))
    victim_uuid = uuid_forms(ids["victim_customer"])[n % 4]
    victim_device = uuid_forms(ids["victim_device"])[n % 4]

    def value(name: str) -> str:
        if name in numbers:
            return spell(numbers[name], form)
        if name == "infoId":
            return ids["victim_info"]
        if name == "priceArea":
            return "NO1"
        if name == "chargePointId":
            return "CP-victim"
        if name == "transactionId":
            return "1"
        if name == "idTag":
            return "CARD-VICTIM"
        if name == "action":  # the one command a customer key may send, at the victim's
            return "RemoteStartTransaction"
        raise AssertionError(f"unknown path parameter {name}")

    path = re.sub(r"\{(\w+)\}", lambda m: value(m.group(1)), template)
    query: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        name = parameter["name"]
        query[name] = {
            "customerId": victim_uuid,
            "deviceId": victim_device,
            "id": "order-of-victim",
            "groupBy": "customer",
        }.get(name, "1")
    body: Any = None
    if method in ("PUT", "POST"):
        body = {
            "Name": "taken over",
            "MaxPowerKw": 1000,
            "ChargePointId": "CP-TAKEN",
            "ChargingMode": 0,
            "BatteryLevel": 1,
            "Currency": "EUR",
            "Slots": [{"Start": "2026-01-01T00:00Z", "End": "2026-01-01T01:00Z", "Price": 1}],
            **order_body(victim_device, victim_uuid, Id=f"forged-{n}", ElectricQuantity=0),
        }
    return path, query, body


OPEN_TO_EVERY_KEY = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/api/prices/{priceArea}"),
    ("GET", "/api/customers"),
    ("GET", "/api/ChargeOrder/GetOrders"),
    ("GET", "/api/ChargeOrder/GetSummary"),
    ("GET", "/api/chargers"),
}
"""Operations whose 200 to a customer key is its own or public data; they must show
nothing of the victim's."""


async def test_no_spelling_of_another_customers_ids_reaches_its_data(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    ids = await victim_data(client)
    _id, key = await create_key(app, customer=OWN[0])
    customer = client_for(key)
    before = await dump(app)
    secrets = [ids["victim_customer"], ids["victim_device"], "order-of-victim", "Customer 2"]
    secrets += ["CP-victim", "CARD-VICTIM"]
    sent = 0
    for method, template, operation in await operations(client):
        for n, form in enumerate(NON_CANONICAL):
            path, query, body = request_for(method, template, operation, form, ids, n)
            response = await customer.request(method, path, params=query, json=body)
            sent += 1
            where = (method, path, query, response.status_code, response.text[:300])
            assert response.status_code < 500, where
            if (method, template) in OPEN_TO_EVERY_KEY:
                text = response.text.lower()
                assert not any(s.lower() in text for s in secrets), where
            else:
                assert not 200 <= response.status_code < 300, where
    assert sent >= 7 * 25
    assert await dump(app) == before


@pytest.mark.parametrize("form", list(NON_CANONICAL))
async def test_every_spelling_of_a_path_id_is_one_number_or_a_400(
    client: httpx.AsyncClient, form: str
) -> None:
    await register_device(client, *VICTIM)
    response = await client.get("/api/customers/" + spell(2, form))
    try:
        number = parse_int32(spell(2, form).replace("%32", "2"), "customerId")
    except NotInt32:
        assert response.status_code == 400, response.text
        assert list(response.json()["ModelState"]) == ["customerId"]
        return
    assert number == 2
    assert response.status_code == 200
    assert response.json()["CustomerId"] == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        ("+7", 7),
        ("007", 7),
        ("-0", 0),
        ("-2147483648", -(2**31)),
        ("2147483647", 2**31 - 1),
    ],
)
def test_int32_path_ids_are_read_as_int32_parse_reads_them(text: str, expected: int) -> None:
    assert parse_int32(text, "customerId") == expected


@pytest.mark.parametrize(
    "text",
    ["2.0", "2e0", " 2", "2 ", "２", "0x2", "1_0", "", "+", "2147483648", "٢", "2\x0b", "9" * 5000],
)
def test_anything_else_is_not_an_int32(text: str) -> None:
    with pytest.raises(NotInt32, match="customerId"):
        parse_int32(text, "customerId")


async def test_the_customer_check_refuses_what_it_cannot_read() -> None:
    """Fail closed: a customerId the parser refuses is a 400 from the check itself, even
    if the route's own validation were never reached."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/customers/2.0",
        "headers": [],
        "path_params": {"customerId": "2.0"},
        "state": {"principal": Principal("k", "customer", customer_number=1)},
    }
    from starlette.requests import Request

    with pytest.raises(Invalid) as refused:
        await CustomerTree()(Request(scope))
    assert "customerId" in refused.value.errors


async def test_a_customer_key_cannot_change_its_own_limits(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    await register_device(client, *OWN, max_power_kw=7.4, gateway_max_power_kw=11)
    before = await dump(app)
    _id, key = await create_key(app, customer=OWN[0])
    customer = client_for(key)
    gateway = "/api/customers/1/contracts/1/gateways/1"
    for path, body in [
        (device_path(), {"Name": "Device 1", "MaxPowerKw": 1000}),
        (device_path(), {"Name": "Device 1", "ChargePointId": "CP-MINE"}),
        (gateway, {"Name": "Gateway 1", "MaxPowerKw": 100000}),
    ]:
        for spelling in ("", "+1", "01", "1.0"):
            target = path.replace("/customers/1/", f"/customers/{spelling}/") if spelling else path
            response = await customer.put(target, json=body)
            assert response.status_code in (400, 403), (target, response.text)
    assert await dump(app) == before


async def test_a_control_character_after_an_id_is_a_400_and_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """`PUT /api/customers/78%0B` stored customer 78 and then could not send its
    Location header: now the id is refused before anything is touched."""
    before = await dump(app)
    response = await client.put("/api/customers/78%0B", json={"Name": "Vertical tab"})
    assert response.status_code == 400
    assert "customerId" in response.json()["ModelState"]
    assert await dump(app) == before
    assert (await client.get("/api/customers/78")).status_code == 404


@pytest.mark.parametrize("spelling", ["078", "+78", "%37%38"])
async def test_location_headers_carry_the_canonical_id(
    client: httpx.AsyncClient, spelling: str
) -> None:
    created = await client.put(f"/api/customers/{spelling}", json={"Name": "Canonical"})
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/api/customers/78"
    contract = await client.put(f"/api/customers/{spelling}/contracts/0{9}", json={})
    assert contract.headers["Location"] == "/api/customers/78/contracts/9"
    await client.put("/api/customers/78/contracts/9/gateways/1", json={"Name": "G"})
    await client.put(
        "/api/customers/78/contracts/9/gateways/1/evchargingdevices/1", json={"Name": "D"}
    )
    info = await client.post(
        f"/api/customers/{spelling}/contracts/+9/gateways/01/evchargingdevices/001",
        json={"ChargingMode": 0},
    )
    assert info.status_code == 201, info.text
    location = info.headers["Location"]
    assert location == (
        "/api/customers/78/contracts/9/gateways/1/evchargingdevices/1/charginginformation/"
        + info.json()["Id"]
    )
    assert (await client.get(location)).status_code == 200


@pytest.mark.parametrize("value", ["/api/customers/78\x0b", "/a\r\nSet-Cookie: x=1", " /a", ""])
def test_a_reply_whose_header_http_cannot_carry_is_refused_before_the_commit(value: str) -> None:
    """`reply` runs inside the handler, before the unit of work commits: raising there
    rolls the write back instead of committing one whose answer never arrives."""
    from evcharge.compat.webapi import WebApiError, reply

    with pytest.raises(ValueError, match="Location"):
        reply(WebApiError(Message="x"), 201, {"Location": value})
    assert (
        reply(WebApiError(Message="x"), 201, {"Location": "/api/customers/78"}).status_code == 201
    )
