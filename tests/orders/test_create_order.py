"""Seed B: POST api/ChargeOrder/CreateOrder exactly as the help page, in every format."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.factories import order_body, order_parties
from tests.orders.wire import CREATE, FORMATS, create, envelope, fields, total_orders

SEED_XML = """<ChargingOrderRequest xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Applications.Services.Dtos.Charge.RequestDto">
  <Id xmlns="http://schemas.datacontract.org/2004/07/Util.Applications">sample string 5</Id>
  <ChargingDeviceId>aa4363ce-a5dd-419a-af97-48dd646223db</ChargingDeviceId>
  <CustomerId>6672ed4c-bc30-4fac-b59e-c2dc8b20d910</CustomerId>
  <DiscountPrice>3</DiscountPrice>
  <ElectricQuantity>1</ElectricQuantity>
  <EndTime>2025-11-08T18:49:22.9524191+08:00</EndTime>
  <Remark>sample string 4</Remark>
  <StartTime>2025-11-08T18:49:22.9524191+08:00</StartTime>
</ChargingOrderRequest>"""
"""The seed's request sample as printed on the help page."""

SEED_JSON = """{
  "ChargingDeviceId": "aa4363ce-a5dd-419a-af97-48dd646223db",
  "CustomerId": "6672ed4c-bc30-4fac-b59e-c2dc8b20d910",
  "StartTime": "2025-11-08 18:49:22",
  "EndTime": "2025-11-08 18:49:22",
  "ElectricQuantity": 1.0,
  "DiscountPrice": 3.0,
  "Remark": "sample string 4",
  "Id": "sample string 5"
}"""

SEED_DEVICE = "aa4363ce-a5dd-419a-af97-48dd646223db"
SEED_CUSTOMER = "6672ed4c-bc30-4fac-b59e-c2dc8b20d910"


async def seed_parties(client: httpx.AsyncClient) -> None:
    """The seed's device and customer, registered under the seed's own uuids."""
    response = await client.put("/api/customers/1", json={"Name": "Seed", "Id": SEED_CUSTOMER})
    assert response.status_code == 201, response.text
    await client.put("/api/customers/1/contracts/1", json={"Name": "c"})
    await client.put("/api/customers/1/contracts/1/gateways/1", json={"Name": "g"})
    response = await client.put(
        "/api/customers/1/contracts/1/gateways/1/evchargingdevices/1",
        json={"Name": "d", "MaxPowerKw": 11, "Id": SEED_DEVICE},
    )
    assert response.status_code == 201, response.text


async def get_order(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await client.get("/api/ChargeOrder/GetOrder", params={"id": order_id})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


# --- formats -------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
@pytest.mark.parametrize("fmt", FORMATS)
async def test_order_in_every_format_is_created_and_answered_in_the_accepted_format(
    client: httpx.AsyncClient, fmt: str, accept: str
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="order-1")
    response = await create(client, body, fmt, Accept=accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    result = envelope(response)
    assert result["status"] == 1
    assert result["errors"] == []
    assert result["url"] == "/api/ChargeOrder/GetOrder?id=order-1"
    stored = await get_order(client, "order-1")
    assert stored == {
        "ChargingDeviceId": device,
        "CustomerId": customer,
        "StartTime": "2025-11-08T18:00:00Z",
        "EndTime": "2025-11-08T19:00:00Z",
        "ElectricQuantity": 7.5,
        "DiscountPrice": 3.0,
        "Remark": "session 1",
        "Id": "order-1",
        "Created": stored["Created"],
    }


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", "application/json"),
        ("text/json", "text/json"),
        ("application/xml", "application/xml"),
        ("text/xml", "text/xml"),
        ("form", "application/json"),
    ],
)
async def test_without_accept_the_reply_follows_the_request_format(
    client: httpx.AsyncClient, content_type: str, expected: str
) -> None:
    device, customer = await order_parties(client)
    response = await create(client, order_body(device, customer), content_type)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == expected


@pytest.mark.parametrize("content_type", ["application/json", "text/xml", "form"])
async def test_accept_any_answers_json_as_web_api_2_does(
    client: httpx.AsyncClient, content_type: str
) -> None:
    """`Accept: */*` matches every formatter equally; Web API 2 takes the first (JSON)."""
    device, customer = await order_parties(client)
    response = await create(client, order_body(device, customer), content_type, Accept="*/*")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert response.json()["status"] == 1


async def test_accept_with_quality_values_picks_the_preferred_format(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        CREATE,
        content=b"{}",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json;q=0.5, text/xml;q=0.9",
        },
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/xml; charset=utf-8"


async def test_seed_sample_xml_is_accepted_as_printed_once_its_times_are_plausible(
    client: httpx.AsyncClient,
) -> None:
    await seed_parties(client)
    # As printed, StartTime = EndTime with 1 kWh: nothing can be delivered in no time.
    as_printed = await client.post(
        CREATE, content=SEED_XML.encode(), headers={"Content-Type": "application/xml"}
    )
    assert as_printed.status_code == 400
    assert "ElectricQuantity" in fields(as_printed)
    plausible = SEED_XML.replace(
        "<EndTime>2025-11-08T18:49:22.9524191+08:00",
        "<EndTime>2025-11-08T19:49:22.9524191+08:00",
    )
    response = await client.post(
        CREATE, content=plausible.encode(), headers={"Content-Type": "text/xml"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert envelope(response)["url"] == "/api/ChargeOrder/GetOrder?id=sample%20string%205"
    stored = await get_order(client, "sample string 5")
    assert stored["StartTime"] == "2025-11-08T10:49:22.9524191Z"
    assert stored["EndTime"] == "2025-11-08T11:49:22.9524191Z"
    assert (stored["ElectricQuantity"], stored["DiscountPrice"]) == (1.0, 3.0)
    assert stored["Remark"] == "sample string 4"
    assert (stored["ChargingDeviceId"], stored["CustomerId"]) == (SEED_DEVICE, SEED_CUSTOMER)


async def test_seed_sample_json_is_accepted_once_its_times_are_plausible(
    client: httpx.AsyncClient,
) -> None:
    await seed_parties(client)
    plausible = SEED_JSON.replace(
        '"EndTime": "2025-11-08 18:49:22"', '"EndTime": "2025-11-08 19:49:22"'
    )
    response = await client.post(
        CREATE, content=plausible.encode(), headers={"Content-Type": "text/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": 1,
        "message": "The order was created.",
        "errors": [],
        "url": "/api/ChargeOrder/GetOrder?id=sample%20string%205",
    }
    stored = await get_order(client, "sample string 5")
    assert stored["StartTime"] == "2025-11-08T18:49:22Z"  # no offset: operator zone (UTC here)


async def test_xml_without_namespaces_in_any_order_and_any_case_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    xml = (
        "<chargingorderrequest>"
        "<remark>r</remark><ENDTIME>2025-11-08T19:00:00Z</ENDTIME>"
        f"<customerId>{customer}</customerId><Id>x-1</Id>"
        "<StartTime>2025-11-08T18:00:00Z</StartTime>"
        f"<ChargingDeviceId>{device}</ChargingDeviceId>"
        '<ElectricQuantity xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true" />'
        "</chargingorderrequest>"
    )
    response = await client.post(
        CREATE, content=xml.encode(), headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 200, response.text
    stored = await get_order(client, "x-1")
    assert (stored["Remark"], stored["ElectricQuantity"], stored["DiscountPrice"]) == (
        "r",
        None,
        0,
    )


@pytest.mark.parametrize(
    "spelling", [str.lower, str.upper, lambda name: name[0].lower() + name[1:]]
)
async def test_json_property_names_are_case_insensitive(
    client: httpx.AsyncClient, spelling: Any
) -> None:
    device, customer = await order_parties(client)
    body = {spelling(k): v for k, v in order_body(device, customer, Id="ci").items()}
    response = await client.post(CREATE, json=body)
    assert response.status_code == 200, response.text
    assert (await get_order(client, "ci"))["Remark"] == "session 1"


async def test_form_keys_are_case_insensitive_and_empty_values_are_null(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    form = (
        f"chargingdeviceid={device}&CUSTOMERID={customer}&starttime=2025-11-08+18%3A00%3A00"
        "&endtime=2025-11-08+19%3A00%3A00&electricquantity=&remark=&id=f-1"
    )
    response = await client.post(
        CREATE,
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    stored = await get_order(client, "f-1")
    # ElectricQuantity is a decimal?: an empty form value binds as null, not 0.
    assert (stored["ElectricQuantity"], stored["Remark"]) == (None, None)


@pytest.mark.parametrize("accept", ["application/json", "text/xml"])
async def test_unsupported_media_type_is_415_in_the_envelope(
    client: httpx.AsyncClient, accept: str
) -> None:
    response = await client.post(
        CREATE, content=b"hello", headers={"Content-Type": "text/plain", "Accept": accept}
    )
    assert response.status_code == 415
    result = envelope(response)
    assert result["status"] == 0
    assert "text/plain" in result["message"]
    assert result["url"] is None


async def test_error_envelope_in_xml_has_the_seeds_shape_exactly(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        CREATE,
        content=b"<ChargingOrderRequest><Remark>x</Remark></ChargingOrderRequest>",
        headers={"Content-Type": "application/xml"},
    )
    assert response.status_code == 400
    text = response.text
    assert text.startswith(
        '<Result xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://schemas.datacontract.org/2004/07/Applications.WebApi.Common">'
        "<Status>Fail</Status><Message>The request is invalid.</Message>"
        '<Url i:nil="true" /><Errors><ValidErrors>'
        '<_x003C_ErrorMessages_x003E_k__BackingField xmlns:d4p1="'
        'http://schemas.microsoft.com/2003/10/Serialization/Arrays">'
        "<d4p1:string>The ChargingDeviceId field is required.</d4p1:string>"
        "</_x003C_ErrorMessages_x003E_k__BackingField>"
        "<_x003C_Field_x003E_k__BackingField>ChargingDeviceId"
        "</_x003C_Field_x003E_k__BackingField></ValidErrors>"
    )
    assert text.endswith("</Errors></Result>")


async def test_unknown_route_and_wrong_method_answer_in_the_envelope(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/api/chargeorder/nothing", headers={"Accept": "text/xml"})
    assert missing.status_code == 404
    assert envelope(missing)["status"] == 0
    wrong = await client.get(CREATE)
    assert wrong.status_code == 405
    assert "GET" in wrong.json()["message"]


async def test_route_is_matched_case_insensitively(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    response = await client.post("/API/chargeorder/createORDER", json=order_body(device, customer))
    assert response.status_code == 200, response.text


# --- rules ---------------------------------------------------------------------------


RULE_FAILURES = [
    ({"ChargingDeviceId": "00000000-0000-0000-0000-000000000001"}, "ChargingDeviceId"),
    ({"CustomerId": "00000000-0000-0000-0000-000000000001"}, "CustomerId"),
    ({"ChargingDeviceId": "not-a-guid"}, "ChargingDeviceId"),
    ({"EndTime": "2025-11-08T17:59:59Z"}, "EndTime"),
    ({"StartTime": "2025-13-01T00:00:00Z"}, "StartTime"),
    ({"ElectricQuantity": -0.1}, "ElectricQuantity"),
    ({"ElectricQuantity": 11.550001}, "ElectricQuantity"),
    ({"DiscountPrice": -1}, "DiscountPrice"),
    ({"Remark": "r" * 101}, "Remark"),
    ({"Id": "i" * 65}, "Id"),
]


@pytest.mark.parametrize(
    ("fmt", "override", "field"),
    [
        *((fmt, o, f) for fmt in ("application/json", "application/xml", "form")
          for o, f in RULE_FAILURES),
        ("application/json", {"ElectricQuantity": True}, "ElectricQuantity"),
        ("application/json", {"Remark": "bell\u0007"}, "Remark"),
        ("form", {"Remark": "bell\u0007"}, "Remark"),
    ],
)  # fmt: skip
async def test_each_rule_failure_names_its_field_and_stores_nothing(
    client: httpx.AsyncClient, override: dict[str, Any], field: str, fmt: str
) -> None:
    device, customer = await order_parties(client)
    response = await create(client, order_body(device, customer, **override), fmt)
    assert response.status_code == 400, response.text
    assert field in fields(response), response.text
    assert envelope(response)["status"] == 0
    assert await total_orders(client) == 0


async def test_limits_are_inclusive(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    body = order_body(
        device, customer, ElectricQuantity=11.55, Remark="r" * 100, Id="i" * 64, DiscountPrice=0
    )
    response = await client.post(CREATE, json=body)
    assert response.status_code == 200, response.text


async def test_energy_limit_scales_with_duration_and_device_power(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client, max_power_kw=22)
    # 22 kW for 90 minutes with 5 % tolerance: 34.65 kWh.
    body = order_body(device, customer, StartTime="2025-11-08T10:00:00Z")
    body["EndTime"] = "2025-11-08T11:30:00Z"
    too_much = await client.post(CREATE, json={**body, "ElectricQuantity": 34.650001})
    assert too_much.status_code == 400
    assert "34.65 kWh" in fields(too_much)["ElectricQuantity"][0]
    assert (await client.post(CREATE, json={**body, "ElectricQuantity": 34.65})).status_code == 200


async def test_zero_length_order_may_only_claim_zero_energy(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    instant = "2025-11-08T18:00:00Z"
    body = order_body(device, customer, StartTime=instant, EndTime=instant)
    assert (
        await client.post(CREATE, json={**body, "ElectricQuantity": 0.000001})
    ).status_code == 400
    assert (await client.post(CREATE, json={**body, "ElectricQuantity": 0})).status_code == 200


async def test_several_failures_are_reported_together(client: httpx.AsyncClient) -> None:
    response = await client.post(
        CREATE,
        json={
            "ChargingDeviceId": "00000000-0000-0000-0000-000000000001",
            "CustomerId": "00000000-0000-0000-0000-000000000002",
            "StartTime": "2025-11-08T18:00:00Z",
            "EndTime": "2025-11-08T19:00:00Z",
        },
    )
    assert response.status_code == 400
    assert set(fields(response)) == {"ChargingDeviceId", "CustomerId"}


@pytest.mark.parametrize("content", [b"", b"[1, 2]", b"{not json", b'{"ElectricQuantity": NaN}'])
async def test_unreadable_json_is_400_in_the_envelope(
    client: httpx.AsyncClient, content: bytes
) -> None:
    response = await client.post(
        CREATE, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["status"] == 0
    assert response.json()["errors"]


async def test_dates_without_offset_are_in_the_operator_time_zone(
    client: httpx.AsyncClient, oslo_client: httpx.AsyncClient
) -> None:
    device, customer = await order_parties(client)
    naive = order_body(
        device, customer, StartTime="2025-11-08 18:00:00", EndTime="2025-11-08 19:00:00", Id="n"
    )
    assert (await oslo_client.post(CREATE, json=naive)).status_code == 200
    stored = await get_order(client, "n")
    assert (stored["StartTime"], stored["EndTime"]) == (
        "2025-11-08T17:00:00Z",
        "2025-11-08T18:00:00Z",
    )
    summer = order_body(
        device,
        customer,
        StartTime="2025-07-01 12:00:00",
        EndTime="2025-07-01T13:00:00+00:00",
        Id="s",
    )
    assert (await oslo_client.post(CREATE, json=summer)).status_code == 200
    stored = await get_order(client, "s")
    assert (stored["StartTime"], stored["EndTime"]) == (
        "2025-07-01T10:00:00Z",
        "2025-07-01T13:00:00Z",
    )


# --- idempotency ---------------------------------------------------------------------


async def test_same_id_and_content_answers_success_again_without_a_second_order(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="again")
    first = await client.post(CREATE, json=body)
    created = (await get_order(client, "again"))["Created"]
    # The same content in other words: another format, another notation of the instants.
    same = {**body, "StartTime": "2025-11-08T19:00:00+01:00", "ElectricQuantity": "7.50"}
    again = await create(client, same, "application/xml")
    assert first.status_code == again.status_code == 200
    assert envelope(again)["url"] == first.json()["url"] == "/api/ChargeOrder/GetOrder?id=again"
    assert await total_orders(client) == 1
    assert (await get_order(client, "again"))["Created"] == created


@pytest.mark.parametrize(
    "change",
    [
        {"Remark": "other"},
        {"ElectricQuantity": 7.6},
        {"EndTime": "2025-11-08T19:00:01Z"},
        {"DiscountPrice": 0},
        {"Remark": None},
    ],
)
async def test_same_id_with_different_content_is_422_and_changes_nothing(
    client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="taken")
    assert (await client.post(CREATE, json=body)).status_code == 200
    # order_body leaves out fields set to None: {"Remark": None} sends no Remark.
    response = await client.post(CREATE, json=order_body(device, customer, Id="taken", **change))
    assert response.status_code == 422, response.text
    assert "Id" in fields(response)
    assert (await get_order(client, "taken"))["Remark"] == "session 1"
    assert await total_orders(client) == 1


async def test_same_id_on_another_device_is_422(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    other, _ = await order_parties(client, device=2)
    assert (await client.post(CREATE, json=order_body(device, customer, Id="a"))).status_code == 200
    response = await client.post(CREATE, json=order_body(other, customer, Id="a"))
    assert response.status_code == 422


async def test_without_id_the_server_assigns_one_and_returns_it_in_url(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    response = await client.post(CREATE, json=order_body(device, customer))
    assert response.status_code == 200
    url = response.json()["url"]
    assert url.startswith("/api/ChargeOrder/GetOrder?id=")
    read = await client.get(url)
    assert read.status_code == 200
    assert len(read.json()["Id"]) == 36  # a uuid
    second = await client.post(
        CREATE,
        json=order_body(
            device, customer, StartTime="2025-11-09T18:00:00Z", EndTime="2025-11-09T19:00:00Z"
        ),
    )
    assert second.json()["url"] != url


# --- no double booking ---------------------------------------------------------------


def _slot(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "StartTime": f"2025-11-08T{start}:00Z",
        "EndTime": f"2025-11-08T{end}:00Z",
        "ElectricQuantity": 0,
        **extra,
    }


@pytest.mark.parametrize(
    ("existing", "new", "status"),
    [
        (("10:00", "12:00"), ("11:00", "13:00"), 409),
        (("10:00", "12:00"), ("09:00", "10:30"), 409),
        (("10:00", "12:00"), ("10:30", "11:00"), 409),
        (("10:00", "12:00"), ("09:00", "13:00"), 409),
        (("10:00", "12:00"), ("10:00", "12:00"), 409),
        (("10:00", "12:00"), ("12:00", "13:00"), 200),  # half-open: touching is fine
        (("10:00", "12:00"), ("08:00", "10:00"), 200),
        (("10:00", "12:00"), ("10:00", "10:00"), 409),  # an instant inside the range
        (("10:00", "12:00"), ("11:00", "11:00"), 409),
        (("10:00", "12:00"), ("12:00", "12:00"), 200),  # the end is not part of the range
        (("11:00", "11:00"), ("11:00", "11:00"), 409),  # two sessions at one instant
        (("11:00", "11:00"), ("10:00", "12:00"), 409),
        (("11:00", "11:00"), ("11:00", "12:00"), 409),
        (("11:00", "11:00"), ("10:00", "11:00"), 200),
    ],
)
async def test_overlap_on_one_device_is_409_naming_the_other_order(
    client: httpx.AsyncClient, existing: tuple[str, str], new: tuple[str, str], status: int
) -> None:
    device, customer = await order_parties(client)
    first = await client.post(
        CREATE, json=order_body(device, customer, **_slot(*existing, Id="first"))
    )
    assert first.status_code == 200, first.text
    response = await client.post(
        CREATE, json=order_body(device, customer, **_slot(*new, Id="second"))
    )
    assert response.status_code == status, response.text
    if status == 409:
        result = response.json()
        assert "first" in result["message"]
        assert "first" in result["errors"][0]["errorMessages"][0]
        assert await total_orders(client) == 1


async def test_same_time_on_another_device_is_fine(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    other, _ = await order_parties(client, device=2)
    assert (await client.post(CREATE, json=order_body(device, customer))).status_code == 200
    assert (await client.post(CREATE, json=order_body(other, customer))).status_code == 200


async def test_device_or_customer_with_orders_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    assert (
        await client.post(CREATE, json=order_body(device, customer, Id="keep"))
    ).status_code == 200
    device_path = "/api/customers/1/contracts/1/gateways/1/evchargingdevices/1"
    response = await client.delete(device_path)
    assert response.status_code == 409
    assert "keep" in response.json()["Message"]
    assert (await client.delete("/api/customers/1")).status_code == 409


def test_json_sample_in_this_file_matches_the_seed() -> None:
    assert json.loads(SEED_JSON)["Id"] == "sample string 5"


async def test_openapi_documents_every_body_format_and_the_envelope(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"][CREATE]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "text/json",
        "application/xml",
        "text/xml",
        "application/x-www-form-urlencoded",
    }
    assert {"200", "400", "409", "415", "422", "503"} <= set(operation["responses"])
    assert "ChargingOrderRequest" in schema["components"]["schemas"]
