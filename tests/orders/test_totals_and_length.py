"""Money stays exact at any size (GetSummary sums, every decimal in JSON as stored), and
an order cannot block its device for longer than EVCHARGE_MAX_ORDER_DAYS."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from evcharge.app import create_app
from evcharge.config import Settings
from tests.conftest import ADMIN_HEADERS
from tests.factories import order_body, order_parties
from tests.orders.wire import CREATE, as_xml

SUMMARY = "/api/ChargeOrder/GetSummary"


def hour(n: int) -> dict[str, str]:
    return {
        "StartTime": f"2025-11-{1 + n // 24:02d}T{n % 24:02d}:00:00+00:00",
        "EndTime": f"2025-11-{1 + n // 24:02d}T{n % 24:02d}:30:00+00:00",
    }


async def create(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post(CREATE, json=body)
    assert response.status_code == 200, response.text


def exact(text: str) -> object:
    return json.loads(text, parse_float=Decimal)


@pytest.mark.parametrize("group_by", ["customer", "device", "day"])
async def test_summary_sums_are_exact_past_a_trillion(
    client: httpx.AsyncClient, group_by: str
) -> None:
    device, customer = await order_parties(client)
    prices = ["600000000000", "999999999999.999999", "0.000001"] + ["999999999999.999999"] * 12
    for n, price in enumerate(prices):
        body = order_body(device, customer, Id=f"o{n}", ElectricQuantity=1, **hour(n))
        body["DiscountPrice"] = price  # sent as a JSON number below, digit for digit
        content = json.dumps(body).replace(
            f'"DiscountPrice": "{price}"', f'"DiscountPrice": {price}'
        )
        response = await client.post(
            CREATE, content=content.encode(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.text
    expected = sum((Decimal(p) for p in prices), Decimal(0))
    assert expected == Decimal("13599999999999.999988")
    response = await client.get(SUMMARY, params={"groupBy": group_by})
    assert response.status_code == 200, response.text
    summary = exact(response.text)
    assert isinstance(summary, dict)
    assert summary["DiscountPrice"] == expected
    assert sum(g["DiscountPrice"] for g in summary["Groups"]) == expected
    assert '"DiscountPrice":13599999999999.999988' in response.text
    as_xml_reply = await client.get(
        SUMMARY, params={"groupBy": group_by}, headers={"Accept": "application/xml"}
    )
    assert as_xml_reply.status_code == 200
    assert "<DiscountPrice>13599999999999.999988</DiscountPrice>" in as_xml_reply.text


async def test_order_decimals_read_back_exactly_in_both_formats(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="exact", ElectricQuantity=0.000001)
    content = json.dumps(body).replace(
        '"DiscountPrice": 3.0', '"DiscountPrice": 123456789012.345678'
    )
    created = await client.post(
        CREATE, content=content.encode(), headers={"Content-Type": "application/json"}
    )
    assert created.status_code == 200, created.text
    read = await client.get("/api/ChargeOrder/GetOrder?id=exact")
    assert '"DiscountPrice":123456789012.345678' in read.text
    assert '"ElectricQuantity":0.000001' in read.text
    listed = await client.get("/api/ChargeOrder/GetOrders")
    assert '"DiscountPrice":123456789012.345678' in listed.text
    in_xml = await client.get("/api/ChargeOrder/GetOrder?id=exact", headers={"Accept": "text/xml"})
    assert "<DiscountPrice>123456789012.345678</DiscountPrice>" in in_xml.text


async def test_an_endless_order_is_refused_naming_end_time(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    for start, end in [
        ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"),
        ("2025-11-01T00:00:00+00:00", "2025-12-02T00:00:00.000001+00:00"),
    ]:
        body = order_body(device, customer, StartTime=start, EndTime=end, ElectricQuantity=0)
        for content, kind in [
            (json.dumps(body).encode(), "application/json"),
            (as_xml(body), "application/xml"),
        ]:
            response = await client.post(
                CREATE,
                content=content,
                headers={"Content-Type": kind, "Accept": "application/json"},
            )
            assert response.status_code == 400, response.text
            assert [e["field"] for e in response.json()["errors"]] == ["EndTime"]
            assert "31 days" in response.json()["errors"][0]["errorMessages"][0]
    longest = order_body(
        device,
        customer,
        StartTime="2025-11-01T00:00:00+00:00",
        EndTime="2025-12-02T00:00:00+00:00",
        ElectricQuantity=0,
    )
    await create(client, longest)
    assert (await client.get("/api/ChargeOrder/GetOrders")).json()["TotalCount"] == 1


async def test_the_longest_order_is_a_setting(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    device, customer = await order_parties(client)
    app: FastAPI = create_app(settings.model_copy(update={"max_order_days": 2}))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=ADMIN_HEADERS
        ) as two_days:
            three = order_body(
                device, customer, StartTime="2025-11-01T00:00:00Z", EndTime="2025-11-04T00:00:00Z"
            )
            refused = await two_days.post(CREATE, json=three)
            assert refused.status_code == 400
            assert "2 days" in refused.json()["errors"][0]["errorMessages"][0]
            accepted = await client.post(CREATE, json=three)
            assert accepted.status_code == 200
    finally:
        await app.state.engine.dispose()
