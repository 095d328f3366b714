"""Prices per area: a replacing upload, read back by range."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.factories import hourly_prices, put_prices

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


async def read(
    client: httpx.AsyncClient, area: str, start: str, end: str
) -> list[tuple[str, str, float]]:
    response = await client.get(f"/api/prices/{area}", params={"from": start, "to": end})
    assert response.status_code == 200, response.text
    return [(s["Start"], s["End"], s["Price"]) for s in response.json()["Slots"]]


async def test_upload_is_read_back_with_its_currency(client: httpx.AsyncClient) -> None:
    stored = await put_prices(client, "no1", hourly_prices(T0, [0.5, -0.02, 1.25]), currency="nok")
    assert stored["PriceArea"] == "NO1"
    assert stored["SlotsStored"] == 3
    response = await client.get("/api/prices/NO1?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z")
    body = response.json()
    assert body["Currency"] == "NOK"
    assert [s["Price"] for s in body["Slots"]] == [0.5, -0.02, 1.25]
    assert body["Slots"][0]["Start"] == "2026-03-02T00:00:00Z"


async def test_an_upload_replaces_exactly_its_range_cutting_straddling_slots(
    client: httpx.AsyncClient,
) -> None:
    await put_prices(client, "BE", hourly_prices(T0, [1.0, 2.0, 3.0, 4.0]))
    quarter = hourly_prices(
        datetime(2026, 3, 2, 1, 30, tzinfo=UTC), [9.0, 8.0, 7.0, 6.0], minutes=15
    )
    await put_prices(client, "BE", quarter)
    slots = await read(client, "BE", "2026-03-02T00:00:00Z", "2026-03-02T04:00:00Z")
    assert slots == [
        ("2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z", 1.0),
        ("2026-03-02T01:00:00Z", "2026-03-02T01:30:00Z", 2.0),
        ("2026-03-02T01:30:00Z", "2026-03-02T01:45:00Z", 9.0),
        ("2026-03-02T01:45:00Z", "2026-03-02T02:00:00Z", 8.0),
        ("2026-03-02T02:00:00Z", "2026-03-02T02:15:00Z", 7.0),
        ("2026-03-02T02:15:00Z", "2026-03-02T02:30:00Z", 6.0),
        ("2026-03-02T02:30:00Z", "2026-03-02T03:00:00Z", 3.0),
        ("2026-03-02T03:00:00Z", "2026-03-02T04:00:00Z", 4.0),
    ]


async def test_a_gap_in_an_upload_is_400_naming_the_slot_and_stores_nothing(
    client: httpx.AsyncClient,
) -> None:
    slots = hourly_prices(T0, [1.0, 2.0, 3.0])
    del slots[1]
    response = await client.put("/api/prices/BE", json={"Currency": "EUR", "Slots": slots})
    assert response.status_code == 400
    state = response.json()["ModelState"]
    assert list(state) == ["request.Slots[1]"]
    assert "gap" in state["request.Slots[1]"][0]
    assert (await client.get("/api/prices/BE")).status_code == 404


async def test_an_overlap_in_an_upload_is_400_naming_the_slot(client: httpx.AsyncClient) -> None:
    slots = hourly_prices(T0, [1.0, 2.0, 3.0])
    slots[2]["Start"] = "2026-03-02T01:30:00+00:00"
    response = await client.put("/api/prices/BE", json={"Currency": "EUR", "Slots": slots})
    assert response.status_code == 400
    assert "overlap" in response.json()["ModelState"]["request.Slots[2]"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Currency": "EUR", "Slots": []}, "request.Slots"),
        ({"Currency": "EURO", "Slots": hourly_prices(T0, [1.0])}, "request.Currency"),
        ({"Slots": hourly_prices(T0, [1.0])}, "request.Currency"),
        (
            {
                "Currency": "EUR",
                "Slots": [
                    {"Start": "2026-03-02T01:00:00Z", "End": "2026-03-02T00:00:00Z", "Price": 1}
                ],
            },
            "request.Slots[0]",
        ),
        (
            {
                "Currency": "EUR",
                "Slots": [
                    {"Start": "2026-03-02T00:00:00Z", "End": "2026-03-02T01:00:00Z", "Price": "x"}
                ],
            },
            "request.Slots[0].Price",
        ),
    ],
)
async def test_invalid_uploads_are_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.put("/api/prices/BE", json=body)
    assert response.status_code == 400
    assert field in response.json()["ModelState"], response.json()


async def test_changing_an_areas_currency_needs_a_full_replacement(
    client: httpx.AsyncClient,
) -> None:
    await put_prices(client, "SE3", hourly_prices(T0, [1.0, 2.0]), currency="SEK")
    partial = await client.put(
        "/api/prices/SE3", json={"Currency": "EUR", "Slots": hourly_prices(T0, [1.0])}
    )
    assert partial.status_code == 409
    assert "request.Currency" in partial.json()["ModelState"]
    await put_prices(client, "SE3", hourly_prices(T0, [1.0, 2.0]), currency="EUR")
    assert (await client.get("/api/prices/SE3?from=2026-03-02T00:00:00Z")).json()[
        "Currency"
    ] == "EUR"


async def test_reading_checks_its_range(client: httpx.AsyncClient) -> None:
    await put_prices(client, "BE", hourly_prices(T0, [1.0]))
    too_long = await client.get("/api/prices/BE?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z")
    assert too_long.status_code == 400
    backwards = await client.get("/api/prices/BE?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z")
    assert backwards.status_code == 400
    not_a_date = await client.get("/api/prices/BE?from=soon")
    assert "from" in not_a_date.json()["ModelState"]
    assert (await client.get("/api/prices/NOWHERE")).status_code == 404
