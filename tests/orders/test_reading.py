"""Reading orders back: GetOrder, GetOrders (filtered, paged, newest first), GetSummary."""

from __future__ import annotations

from typing import Any

import defusedxml.ElementTree as ElementTree
import httpx
import pytest

from tests.factories import order_body, order_parties
from tests.orders.wire import CREATE, ID_NS, envelope

BASE = "/api/ChargeOrder"
RESPONSE_NS = (
    "http://schemas.datacontract.org/2004/07/Applications.Services.Dtos.Charge.ResponseDto"
)


async def place(
    client: httpx.AsyncClient, device: str, customer: str, order_id: str, start: str, end: str,
    quantity: float = 1, discount: float = 0.5,
) -> None:  # fmt: skip
    body = order_body(
        device, customer, Id=order_id, StartTime=start, EndTime=end,
        ElectricQuantity=quantity, DiscountPrice=discount,
    )  # fmt: skip
    response = await client.post(CREATE, json=body)
    assert response.status_code == 200, response.text


async def ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(f"{BASE}/GetOrders", params=params)
    assert response.status_code == 200, response.text
    return [item["Id"] for item in response.json()["Items"]]


@pytest.fixture
async def ledger(client: httpx.AsyncClient) -> dict[str, str]:
    """Two customers, two devices, five orders over two days."""
    d1, c1 = await order_parties(client, customer=1, device=1)
    d2, c2 = await order_parties(client, customer=2, device=2)
    await place(client, d1, c1, "a", "2025-11-08T08:00:00Z", "2025-11-08T09:00:00Z", 5, 1)
    await place(client, d1, c1, "b", "2025-11-08T22:30:00Z", "2025-11-08T23:30:00Z", 6, 2)
    await place(client, d2, c2, "c", "2025-11-08T08:30:00Z", "2025-11-08T10:00:00Z", 7, 0)
    await place(client, d2, c1, "d", "2025-11-09T12:00:00Z", "2025-11-09T13:00:00Z", 8, 0.25)
    await place(client, d1, c2, "e", "2025-11-09T12:00:00Z", "2025-11-09T12:00:00Z", 0, 0)
    return {"d1": d1, "d2": d2, "c1": c1, "c2": c2}


async def test_get_order_in_xml_is_a_data_contract(
    client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}/GetOrder?id=a", headers={"Accept": "application/xml"})
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{{{RESPONSE_NS}}}ChargingOrder"
    assert root[0].tag == f"{{{ID_NS}}}Id" and root[0].text == "a"
    values = {child.tag.split("}")[1]: child.text for child in root[1:]}
    assert values == {
        "ChargingDeviceId": ledger["d1"],
        "Created": values["Created"],
        "CustomerId": ledger["c1"],
        "DiscountPrice": "1",
        "ElectricQuantity": "5",
        "EndTime": "2025-11-08T09:00:00Z",
        "Remark": "session 1",
        "StartTime": "2025-11-08T08:00:00Z",
    }


async def test_get_order_unknown_is_404_and_missing_id_400_in_the_envelope(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get(f"{BASE}/GetOrder?id=nope", headers={"Accept": "text/xml"})
    assert missing.status_code == 404
    assert "nope" in envelope(missing)["message"]
    no_id = await client.get(f"{BASE}/GetOrder")
    assert no_id.status_code == 400
    assert no_id.json()["errors"][0]["field"] == "id"


async def test_get_orders_is_newest_first_and_filters_by_customer_and_device(
    client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    assert await ids(client) == ["e", "d", "b", "c", "a"]  # a tie goes to the later Created
    assert await ids(client, customerId=ledger["c1"]) == ["d", "b", "a"]
    assert await ids(client, deviceId=ledger["d1"]) == ["e", "b", "a"]
    assert await ids(client, CUSTOMERID=ledger["c2"], deviceid=ledger["d1"]) == ["e"]


async def test_get_orders_time_range_selects_orders_that_overlap_it(
    client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    assert await ids(client, **{"from": "2025-11-08T09:00:00Z", "to": "2025-11-08T22:30:00Z"}) == [
        "c"
    ]
    assert await ids(client, **{"from": "2025-11-09T12:00:00Z"}) == ["e", "d"]
    assert await ids(client, to="2025-11-08T08:30:00Z") == ["a"]


async def test_get_orders_pages_with_total_count(
    client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}/GetOrders", params={"page": 2, "pageSize": 2})
    page = response.json()
    assert [item["Id"] for item in page["Items"]] == ["b", "c"]
    assert (page["Page"], page["PageSize"], page["TotalCount"]) == (2, 2, 5)
    xml = await client.get(
        f"{BASE}/GetOrders", params={"page": 3, "pageSize": 2}, headers={"Accept": "text/xml"}
    )
    root = ElementTree.fromstring(xml.content)
    assert root.findtext(f"{{{RESPONSE_NS}}}TotalCount") == "5"
    assert len(root.findall(f"{{{RESPONSE_NS}}}Items/{{{RESPONSE_NS}}}ChargingOrder")) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"customerId": "x"},
        {"from": "yesterday"},
        {"from": "2025-11-09", "to": "2025-11-08"},
        {"page": "0"},
    ],
)
async def test_get_orders_bad_filters_are_400_in_the_envelope(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(f"{BASE}/GetOrders", params=params)
    assert response.status_code == 400
    assert response.json()["status"] == 0


def groups(response: httpx.Response) -> dict[str, tuple[int, float, float]]:
    assert response.status_code == 200, response.text
    return {
        g["Key"]: (g["OrderCount"], g["ElectricQuantity"], g["DiscountPrice"])
        for g in response.json()["Groups"]
    }


async def test_summary_per_customer_device_and_day(
    client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    by_customer = await client.get(f"{BASE}/GetSummary?groupBy=customer")
    assert groups(by_customer) == {ledger["c1"]: (3, 19, 3.25), ledger["c2"]: (2, 7, 0)}
    assert (by_customer.json()["OrderCount"], by_customer.json()["ElectricQuantity"]) == (5, 26)
    by_device = await client.get(f"{BASE}/GetSummary", params={"GroupBy": "Device"})
    assert groups(by_device) == {ledger["d1"]: (3, 11, 3), ledger["d2"]: (2, 15, 0.25)}
    by_day = await client.get(f"{BASE}/GetSummary?groupBy=day")
    assert groups(by_day) == {"2025-11-08": (3, 18, 3), "2025-11-09": (2, 8, 0.25)}


async def test_summary_counts_each_order_once_by_its_start_time(
    client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    # Adjacent ranges split the orders without counting any twice.
    first = await client.get(
        f"{BASE}/GetSummary",
        params={"groupBy": "day", "from": "2025-11-08T00:00:00Z", "to": "2025-11-08T08:30:00Z"},
    )
    second = await client.get(
        f"{BASE}/GetSummary",
        params={"groupBy": "day", "from": "2025-11-08T08:30:00Z", "to": "2025-11-10T00:00:00Z"},
    )
    assert first.json()["OrderCount"] + second.json()["OrderCount"] == 5
    assert groups(first) == {"2025-11-08": (1, 5, 1)}


async def test_summary_days_are_in_the_operator_time_zone(
    oslo_client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    # 22:30Z on the 8th is 23:30 in Oslo (winter, +01:00): still the 8th; nothing moves.
    by_day = await oslo_client.get(f"{BASE}/GetSummary?groupBy=day")
    assert groups(by_day) == {"2025-11-08": (3, 18, 3), "2025-11-09": (2, 8, 0.25)}
    # With naive bounds read in Oslo time, 00:00 on the 9th is 23:00Z on the 8th.
    late = await oslo_client.get(
        f"{BASE}/GetSummary", params={"groupBy": "customer", "from": "2025-11-08 23:00:00"}
    )
    assert late.json()["OrderCount"] == 3


async def test_summary_in_xml_and_bad_grouping(
    client: httpx.AsyncClient, ledger: dict[str, str]
) -> None:
    xml = await client.get(f"{BASE}/GetSummary?groupBy=day", headers={"Accept": "text/xml"})
    root = ElementTree.fromstring(xml.content)
    assert root.tag == f"{{{RESPONSE_NS}}}ChargingOrderSummary"
    assert root.findtext(f"{{{RESPONSE_NS}}}ElectricQuantity") == "26"
    bad = await client.get(f"{BASE}/GetSummary?groupBy=week")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "groupBy"


async def test_an_order_id_the_database_cannot_hold_is_400_not_500(
    client: httpx.AsyncClient,
) -> None:
    # Found by schemathesis: NUL in ?id= reached PostgreSQL, whose text cannot hold it.
    for bad in ("%00", "a%01b", "x" * 65):
        response = await client.get(f"{BASE}/GetOrder?id={bad}")
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["field"] == "id"
