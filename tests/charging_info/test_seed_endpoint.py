"""Seed A: POST …/evchargingdevices/{deviceAssetId} exactly as the original help page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import SEED_SAMPLE, device_path, register_device

FULL_BODY: dict[str, Any] = {
    "ChargingMode": 1,
    "SmartModeIsActive": True,
    "CarInfoId": "vw-id3-2023",
    "CarManufacturer": "Volkswagen",
    "CarModel": "ID.3",
    "CarGeneration": "Pro S",
    "GrossBatterySize": 82.5,
    "NetBatterySize": 77.25,
    "BatteryLevel": 23.5,
    "FullyChargedBy": "2025-05-20T06:30:00+00:00",
    "CustomerId": "1",
    "ContractId": 1,
    "GatewayAssetId": 1,
    "DeviceAssetId": 1,
}


async def history_total(client: httpx.AsyncClient, path: str = device_path()) -> int:
    response = await client.get(path + "/charginginformation")
    assert response.status_code == 200, response.text
    total: int = response.json()["TotalCount"]
    return total


async def test_seed_sample_sent_byte_for_byte_as_text_json_is_created(
    client: httpx.AsyncClient,
) -> None:
    # The sample names contract 6, gateway 7, device 8; its CustomerId is free text.
    await register_device(client, customer=1, contract=6, gateway=7, device=8)
    path = device_path(1, 6, 7, 8)
    response = await client.post(path, content=SEED_SAMPLE, headers={"Content-Type": "text/json"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{path}/charginginformation/{body['Id']}"
    assert body["ChargingMode"] == 0
    assert body["SmartModeIsActive"] is True
    assert body["CarInfoId"] == "sample string 1"
    assert body["GrossBatterySize"] == 1.1
    assert body["FullyChargedBy"] == "2025-05-19T22:44:01.1571182Z"
    assert body["CustomerId"] == "sample string 5"
    assert (body["ContractId"], body["GatewayAssetId"], body["DeviceAssetId"]) == (6, 7, 8)
    assert body["Version"] == 1
    assert body["Created"].endswith("Z")


async def test_every_seed_field_round_trips_with_its_value(client: httpx.AsyncClient) -> None:
    await register_device(client)
    created = await client.post(device_path(), json=FULL_BODY)
    assert created.status_code == 201, created.text
    device = (await client.get(device_path())).json()
    stored = device["EvChargingInfo"]
    assert stored == created.json()
    for field, value in FULL_BODY.items():
        if field == "FullyChargedBy":
            assert stored[field] == "2025-05-20T06:30:00Z"
        else:
            assert stored[field] == value, field
    assert set(stored) == {*FULL_BODY, "Id", "Version", "Created"}


async def test_device_without_charging_information_embeds_null(client: httpx.AsyncClient) -> None:
    await register_device(client)
    device = (await client.get(device_path())).json()
    assert device["EvChargingInfo"] is None


@pytest.mark.parametrize(
    "spelling", [str.lower, lambda name: name[0].lower() + name[1:], str.upper]
)
async def test_property_names_bind_in_any_case(client: httpx.AsyncClient, spelling: Any) -> None:
    await register_device(client)
    body = {spelling(key): value for key, value in FULL_BODY.items()}
    response = await client.post(device_path(), json=body)
    assert response.status_code == 201, response.text
    assert response.json()["BatteryLevel"] == 23.5
    assert response.json()["CarModel"] == "ID.3"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(0, 0), (1, 1), (2, 2), ("Smart", 1), ("off", 2), ("NORMAL", 0), ("1", 1)],
)
async def test_charging_mode_binds_by_integer_or_by_name(
    client: httpx.AsyncClient, sent: Any, expected: int
) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={"ChargingMode": sent})
    assert response.status_code == 201, response.text
    assert response.json()["ChargingMode"] == expected


@pytest.mark.parametrize("sent", [3, -1, "Fast", True, 1.5])
async def test_unknown_charging_mode_is_400(client: httpx.AsyncClient, sent: Any) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={"ChargingMode": sent})
    assert response.status_code == 400
    assert "request.ChargingMode" in response.json()["ModelState"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("CustomerId", "2"), ("ContractId", 2), ("GatewayAssetId", 9), ("DeviceAssetId", 3)],
)
async def test_body_ids_contradicting_the_path_give_400_naming_the_field(
    client: httpx.AsyncClient, field: str, value: Any
) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={**FULL_BODY, field: value})
    assert response.status_code == 400
    body = response.json()
    assert body["Message"] == "The request is invalid."
    assert list(body["ModelState"]) == [f"request.{field}"]
    assert await history_total(client) == 0


async def test_customer_uuid_of_another_customer_is_400(client: httpx.AsyncClient) -> None:
    other = await register_device(client, customer=2)
    await register_device(client)
    customer_2 = (await client.get("/api/customers/2")).json()["Id"]
    assert other["CustomerId"] == 2
    response = await client.post(device_path(), json={"CustomerId": customer_2})
    assert response.status_code == 400
    assert "request.CustomerId" in response.json()["ModelState"]
    own = (await client.get("/api/customers/1")).json()["Id"]
    assert (await client.post(device_path(), json={"CustomerId": own})).status_code == 201


async def test_missing_body_ids_are_filled_from_the_path(client: httpx.AsyncClient) -> None:
    await register_device(client, customer=3, contract=4, gateway=5, device=6)
    response = await client.post(device_path(3, 4, 5, 6), json={"BatteryLevel": 50})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (
        body["CustomerId"],
        body["ContractId"],
        body["GatewayAssetId"],
        body["DeviceAssetId"],
    ) == ("3", 4, 5, 6)


@pytest.mark.parametrize(
    ("registered", "missing", "message"),
    [
        (
            (1, 1, 1, 1),
            (1, 1, 1, 2),
            "No EV charging device 2 exists under gateway 1 of contract 1 of customer 1.",
        ),
        ((1, 1, 1, 1), (1, 1, 2, 1), "No gateway 2 exists under contract 1 of customer 1."),
        ((1, 1, 1, 1), (1, 2, 1, 1), "No contract 2 exists under customer 1."),
        ((1, 1, 1, 1), (2, 1, 1, 1), "No customer 2 exists."),
    ],
)
async def test_unknown_device_gives_404_naming_what_is_missing(
    client: httpx.AsyncClient, registered: tuple[int, ...], missing: tuple[int, ...], message: str
) -> None:
    await register_device(client, *registered)
    response = await client.post(device_path(*missing), json=FULL_BODY | {"DeviceAssetId": None})
    assert response.status_code == 404
    assert response.json() == {"Message": message}


INVALID_BODIES: list[tuple[str, bytes, str]] = [
    ("malformed JSON", b'{"BatteryLevel": 50,', "request"),
    ("not an object", b"[1, 2, 3]", "request"),
    ("empty body", b"", "request"),
    ("decimal as text", b'{"BatteryLevel": "half"}', "request.BatteryLevel"),
    ("boolean as number", b'{"SmartModeIsActive": 3}', "request.SmartModeIsActive"),
    ("date not a date", b'{"FullyChargedBy": "tomorrow"}', "request.FullyChargedBy"),
    ("impossible date", b'{"FullyChargedBy": "2025-02-30T10:00:00Z"}', "request.FullyChargedBy"),
    (
        "date before year 1",
        b'{"FullyChargedBy": "0001-01-01T00:00:00+01:00"}',
        "request.FullyChargedBy",
    ),
    (
        "date after 9999",
        b'{"FullyChargedBy": "9999-12-31T23:59:59-01:00"}',
        "request.FullyChargedBy",
    ),
    ("id not an integer", b'{"ContractId": "one"}', "request.ContractId"),
    ("id beyond Int32", b'{"ContractId": 2147483648}', "request.ContractId"),
    ("battery level 101", b'{"BatteryLevel": 101}', "request.BatteryLevel"),
    ("battery level negative", b'{"BatteryLevel": -0.5}', "request.BatteryLevel"),
    ("battery size zero", b'{"GrossBatterySize": 0}', "request.GrossBatterySize"),
    ("battery size over 1000", b'{"NetBatterySize": 1000.5}', "request.NetBatterySize"),
    (
        "net above gross",
        b'{"GrossBatterySize": 50, "NetBatterySize": 60}',
        "request.NetBatterySize",
    ),
    ("NaN", b'{"BatteryLevel": NaN}', "request"),
    ("too deep", b'{"CarModel": ' + b"[" * 40 + b"]" * 40 + b"}", "request"),
]


@pytest.mark.parametrize(
    ("case", "raw", "field"), INVALID_BODIES, ids=[c[0] for c in INVALID_BODIES]
)
async def test_invalid_body_gives_400_in_web_api_shape_and_stores_nothing(
    client: httpx.AsyncClient, case: str, raw: bytes, field: str
) -> None:
    await register_device(client)
    response = await client.post(
        device_path(), content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, (case, response.text)
    body = response.json()
    assert body["Message"] == "The request is invalid."
    assert field in body["ModelState"], body
    assert all(isinstance(m, str) and m for m in body["ModelState"][field])
    assert await history_total(client) == 0


async def test_unsupported_media_type_is_415_in_web_api_shape(client: httpx.AsyncClient) -> None:
    await register_device(client)
    response = await client.post(
        device_path(), content=b"BatteryLevel=5", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert "text/plain" in response.json()["Message"]


async def test_utf8_byte_order_mark_is_accepted(client: httpx.AsyncClient) -> None:
    await register_device(client)
    raw = b"\xef\xbb\xbf" + b'{"BatteryLevel": 12}'
    response = await client.post(
        device_path(), content=raw, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 201, response.text


async def test_unknown_properties_are_ignored(client: httpx.AsyncClient) -> None:
    await register_device(client)
    response = await client.post(
        device_path(), json={"BatteryLevel": 40, "Colour": "red", "Id": "x", "Created": 5}
    )
    assert response.status_code == 201, response.text
    assert "Colour" not in response.json()
    assert response.json()["Id"] != "x"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2025-05-19T22:44:01.1571182+00:00", "2025-05-19T22:44:01.1571182Z"),
        ("2025-05-19T22:44:01.1571182+02:00", "2025-05-19T20:44:01.1571182Z"),
        ("2025-05-19T22:44:01.1571182-05:30", "2025-05-20T04:14:01.1571182Z"),
        ("2025-05-19T22:44:01.1571182Z", "2025-05-19T22:44:01.1571182Z"),
        ("2025-05-19T22:44:01.1571182", "2025-05-19T22:44:01.1571182Z"),
        ("2025-05-19T22:44:01.0000001Z", "2025-05-19T22:44:01.0000001Z"),
        ("2025-05-19T22:44:01.9999999+01:00", "2025-05-19T21:44:01.9999999Z"),
        ("2025-05-19T22:44:01", "2025-05-19T22:44:01Z"),
        ("0099-01-01T00:00:00Z", "0099-01-01T00:00:00Z"),
    ],
)
async def test_seven_digit_fraction_date_reads_back_with_all_seven_digits(
    client: httpx.AsyncClient, sent: str, stored: str
) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={"FullyChargedBy": sent})
    assert response.status_code == 201, response.text
    assert response.json()["FullyChargedBy"] == stored
    again = (await client.get(device_path())).json()["EvChargingInfo"]
    assert again["FullyChargedBy"] == stored


async def test_routes_match_in_any_case(client: httpx.AsyncClient) -> None:
    await register_device(client)
    shouted = "/API/Customers/1/Contracts/1/Gateways/1/EvChargingDevices/1"
    response = await client.post(shouted, json={"BatteryLevel": 10})
    assert response.status_code == 201, response.text
    assert (await client.get(shouted.lower())).json()["EvChargingInfo"]["BatteryLevel"] == 10
    assert (await client.get("/api/CUSTOMERS/1")).status_code == 200


async def test_each_post_is_a_new_version_listed_newest_first(client: httpx.AsyncClient) -> None:
    await register_device(client)
    for level in (10, 20, 30):
        assert (await client.post(device_path(), json={"BatteryLevel": level})).status_code == 201
    listing = (await client.get(device_path() + "/charginginformation?pageSize=2")).json()
    assert listing["TotalCount"] == 3
    assert [v["BatteryLevel"] for v in listing["Items"]] == [30, 20]
    assert [v["Version"] for v in listing["Items"]] == [3, 2]
    second = (await client.get(device_path() + "/charginginformation?page=2&pagesize=2")).json()
    assert [v["BatteryLevel"] for v in second["Items"]] == [10]
    current = (await client.get(device_path())).json()["EvChargingInfo"]
    assert current["Version"] == 3
    one = await client.get(device_path() + f"/charginginformation/{listing['Items'][1]['Id']}")
    assert one.json()["BatteryLevel"] == 20
