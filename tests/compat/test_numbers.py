"""Numbers no field can hold are a 400 naming the field (ignored where no field reads
them, as Json.NET does), never a 500 — in JSON, XML and form bodies alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from evcharge.compat.numbers import OutOfRange, decimal_text, exact_sum, json_float, read_decimal
from tests.factories import device_path, order_parties, register_device
from tests.orders.wire import CREATE, as_xml

HUGE = [
    "1e1000000",
    "-1e1000000",
    "1e99999999999999999999",
    "1" * 4301,
    "9" * 100_000,
    "1" + "0" * 30 + ".5",
]
"""Each beyond ±10^29 (a .NET decimal's range)."""


@pytest.mark.parametrize("number", HUGE)
async def test_a_number_beyond_every_field_is_a_400_naming_the_field(
    client: httpx.AsyncClient, number: str
) -> None:
    await register_device(client)
    for field in ("BatteryLevel", "GrossBatterySize", "ContractId", "CustomerId"):
        body = f'{{"ChargingMode": 0, "{field}": {number}}}'.encode()
        response = await client.post(
            device_path(), content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (field, response.text[:300])
        assert list(response.json()["ModelState"]) == [f"request.{field}"]
        assert len(response.text) < 1000  # the number is not echoed whole


@pytest.mark.parametrize("number", HUGE)
async def test_a_number_in_an_unknown_property_is_ignored(
    client: httpx.AsyncClient, number: str
) -> None:
    await register_device(client)
    body = f'{{"ChargingMode": 0, "BatteryLevel": 5, "Unknown": [{number}, {{"x": {number}}}]}}'
    response = await client.post(
        device_path(), content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text[:300]
    assert response.json()["BatteryLevel"] == 5


@pytest.mark.parametrize("number", ["1e1000000", "1e99999999999999999999", "1" * 4301, "NaN"])
@pytest.mark.parametrize("fmt", ["json", "xml", "form"])
async def test_order_numbers_out_of_range_are_400_in_every_media_type(
    client: httpx.AsyncClient, number: str, fmt: str
) -> None:
    device, customer = await order_parties(client)
    fields: dict[str, Any] = {
        "ChargingDeviceId": device,
        "CustomerId": customer,
        "StartTime": "2025-11-08T18:00:00+00:00",
        "EndTime": "2025-11-08T19:00:00+00:00",
        "DiscountPrice": number,
        "Ignored": number,
    }
    if fmt == "json":
        pairs = ", ".join(
            f'"{k}": {v}' if k in ("DiscountPrice", "Ignored") else f'"{k}": "{v}"'
            for k, v in fields.items()
        )
        content, kind = ("{" + pairs + "}").encode(), "application/json"
    elif fmt == "xml":
        content, kind = as_xml(fields), "application/xml"
    else:
        content = urlencode(fields).encode()
        kind = "application/x-www-form-urlencoded"
    headers = {"Content-Type": kind, "Accept": "application/json"}
    response = await client.post(CREATE, content=content, headers=headers)
    assert response.status_code == 400, response.text[:300]
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == (
        ["request"] if number == "NaN" and fmt == "json" else ["DiscountPrice"]
    )


def test_decimal_text_is_read_exactly_and_bounded() -> None:
    assert read_decimal("123456789012.345678") == Decimal("123456789012.345678")
    assert read_decimal(" 1.5e3 ") == Decimal(1500)
    assert read_decimal("1e-1000000") == 0
    assert read_decimal("0.000e99999999999") == 0
    assert isinstance(read_decimal("1e29"), OutOfRange)
    assert read_decimal("7.9e28") == Decimal("7.9e28")
    assert read_decimal("abc") is None
    assert read_decimal("１") is None  # full-width digits: not the invariant culture
    assert read_decimal("1_000") is None
    assert isinstance(json_float("1e1000000"), OutOfRange)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("123456789012.345678", "123456789012.345678"),
        ("0.000001", "0.000001"),
        ("11", "11.0"),
        ("11.500000", "11.5"),
        ("1E+2", "100.0"),
        ("-0.000", "0.0"),
        ("1E-6", "0.000001"),
    ],
)
def test_decimals_are_written_as_json_net_writes_a_decimal(value: str, text: str) -> None:
    assert decimal_text(Decimal(value)) == text


def test_xml_decimals_are_exact_beyond_the_decimal_context() -> None:
    from evcharge.compat.xml import value_text

    huge = Decimal("12345678901234567890123456789012.345678")
    assert value_text(huge) == "12345678901234567890123456789012.345678"
    assert value_text(Decimal("11.500000")) == "11.5"
    assert value_text(Decimal("-0.0")) == "0"


def test_sums_are_exact_beyond_the_decimal_context() -> None:
    values = [Decimal("999999999999.999999")] * 10**4 + [Decimal("0.000001")]
    assert exact_sum(values) == Decimal("9999999999999999.990001")
    assert exact_sum([Decimal(10) ** 30, Decimal("0.000001")]) == Decimal(
        "1000000000000000000000000000000.000001"
    )


async def test_json_replies_carry_every_digit(app: FastAPI, client: httpx.AsyncClient) -> None:
    await register_device(client, max_power_kw=0.000001, gateway_max_power_kw=99999.999999)
    device = (await client.get(device_path())).text
    assert '"MaxPowerKw":0.000001' in device
    gateway = (await client.get("/api/customers/1/contracts/1/gateways/1")).text
    assert '"MaxPowerKw":99999.999999' in gateway
    info = await client.post(
        device_path(),
        content=b'{"BatteryLevel": 12.345678, "GrossBatterySize": 999.999999}',
        headers={"Content-Type": "application/json"},
    )
    assert '"BatteryLevel":12.345678' in info.text
    assert '"GrossBatterySize":999.999999' in info.text


@pytest.mark.parametrize("text", ["１", "1_000", "٢", "1e1000000", "Infinity"])
async def test_decimal_text_outside_the_invariant_culture_is_a_400(
    client: httpx.AsyncClient, text: str
) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={"BatteryLevel": text})
    assert response.status_code == 400, response.text
    assert list(response.json()["ModelState"]) == ["request.BatteryLevel"]


@pytest.mark.parametrize(
    ("customer_id", "status"),
    [("²", 201), ("２", 201), ("1", 201), ("+01", 201), ("2", 400), ("9" * 64, 400)],
)
async def test_a_body_customer_id_is_a_number_only_in_ascii_digits(
    client: httpx.AsyncClient, customer_id: str, status: int
) -> None:
    """`CustomerId` is a string: ASCII digits are a customer number (must be the path's);
    `²` or full-width digits are the client's own text, kept as sent — never a 500."""
    await register_device(client)
    response = await client.post(device_path(), json={"CustomerId": customer_id})
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["CustomerId"] == customer_id
    else:
        assert list(response.json()["ModelState"]) == ["request.CustomerId"]


@pytest.mark.parametrize("query", ["PAGE=²", "Page=" + "1" * 5000, "PAGESIZE=١", "page=2.0"])
async def test_paging_numbers_are_read_by_the_one_int32_parser(
    client: httpx.AsyncClient, query: str
) -> None:
    """Paging is bound case-insensitively (`PAGE=`), past FastAPI's own validation of
    `page`: `²` reached int() and was a 500."""
    family_a = await client.get("/api/customers?" + query)
    assert family_a.status_code == 400, family_a.text
    family_b = await client.get("/api/ChargeOrder/GetOrders?" + query)
    assert family_b.status_code == 400, family_b.text
    assert family_b.json()["status"] == 0


async def test_a_tiny_number_for_a_text_field_is_its_own_text_not_zero(
    client: httpx.AsyncClient,
) -> None:
    """Found by `make fuzz-all`: 2.6e-42 once read as 0 and was stored as PriceArea "0"."""
    await client.put("/api/customers/1", json={"Name": "c"})
    await client.put("/api/customers/1/contracts/1", json={})
    response = await client.put(
        "/api/customers/1/contracts/1/gateways/1",
        content=b'{"Name": "g", "PriceArea": 2.5890419884777833e-42}',
        headers={"Content-Type": "text/json"},
    )
    assert response.status_code == 400, response.text
    assert list(response.json()["ModelState"]) == ["request.PriceArea"]
    assert json_float("2.5e-42") == Decimal("2.5e-42")
    assert json_float("1e-500") == 0
