"""What real .NET clients (HttpClient, Json.NET, DataContractSerializer) send and expect,
one test per gap of issue 13; tests/dotnet runs the same against a live server in C#."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import SEED_SAMPLE, device_path, order_body, order_parties, register_device
from tests.orders.wire import CREATE, XSI, as_xml, create, envelope

GET_ORDER = "/api/ChargeOrder/GetOrder"


async def stored_order(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await client.get(GET_ORDER, params={"id": order_id})
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


# --- trailing slash ------------------------------------------------------------------


async def test_trailing_slash_matches_the_route_without_a_redirect(
    client: httpx.AsyncClient,
) -> None:
    await register_device(client)
    posted = await client.post(device_path() + "/", json={"BatteryLevel": 50})
    assert posted.status_code == 201, posted.text
    assert posted.headers["Location"].startswith(device_path() + "/charginginformation/")
    read = await client.get(device_path() + "/")
    assert read.status_code == 200, read.text
    assert read.json()["EvChargingInfo"]["BatteryLevel"] == 50


async def test_trailing_slash_on_create_order_stores_the_order(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    response = await client.post(CREATE + "/", json=order_body(device, customer, Id="slash"))
    assert response.status_code == 200, response.text
    assert envelope(response)["status"] == 1
    assert (await stored_order(client, "slash"))["Id"] == "slash"


async def test_trailing_slash_is_still_authenticated(client_for: Any) -> None:
    anonymous = client_for()
    response = await anonymous.get(device_path() + "/")
    assert response.status_code == 401


# --- Microsoft date format -----------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("/Date(1747694641157)/", "2025-05-19T22:44:01.157Z"),
        ("/Date(1747694641157+0200)/", "2025-05-19T22:44:01.157Z"),
        ("/Date(1747694641157-0530)/", "2025-05-19T22:44:01.157Z"),
        ("/Date(-86400000)/", "1969-12-31T00:00:00Z"),
    ],
)
async def test_microsoft_json_dates_are_read_in_family_a(
    client: httpx.AsyncClient, sent: str, stored: str
) -> None:
    await register_device(client)
    # json.dumps writes "/"; Json.NET writes "\/" — both decode to the same string.
    escaped = '{"FullyChargedBy": "' + sent.replace("/", "\\/") + '"}'
    response = await client.post(
        device_path(), content=escaped, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["FullyChargedBy"] == stored


async def test_microsoft_json_dates_are_read_in_family_b(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    body = order_body(
        device,
        customer,
        Id="ms",
        StartTime="/Date(1762598962000+0800)/",
        EndTime="/Date(1762602562000+0800)/",
    )
    response = await create(client, body)
    assert response.status_code == 200, response.text
    order = await stored_order(client, "ms")
    assert (order["StartTime"], order["EndTime"]) == (
        "2025-11-08T10:49:22Z",
        "2025-11-08T11:49:22Z",
    )


async def test_a_malformed_microsoft_date_names_the_field(client: httpx.AsyncClient) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={"FullyChargedBy": "/Date(12x)/"})
    assert response.status_code == 400
    assert "request.FullyChargedBy" in response.json()["ModelState"]


# --- text/html and content negotiation -----------------------------------------------


async def test_text_html_body_is_accepted_and_answered_as_text_html(
    client: httpx.AsyncClient,
) -> None:
    await register_device(client, customer=1, contract=6, gateway=7, device=8)
    response = await client.post(
        device_path(1, 6, 7, 8), content=SEED_SAMPLE, headers={"Content-Type": "text/html"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.json()["CarInfoId"] == "sample string 1"


@pytest.mark.parametrize(
    ("content_type", "accept", "expected"),
    [
        ("text/json", None, "text/json"),
        ("application/json", None, "application/json"),
        ("text/json", "*/*", "application/json"),
        ("text/json", "application/json", "application/json"),
        ("application/json", "text/html", "text/html"),
        ("application/json", "text/*", "text/json"),
        ("application/json", "text/html;q=0.4, text/json;q=0.8", "text/json"),
        ("text/html", "application/xml", "text/html"),
    ],
)
async def test_family_a_reply_media_type_is_negotiated_as_web_api_does(
    client: httpx.AsyncClient, content_type: str, accept: str | None, expected: str
) -> None:
    await register_device(client)
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    response = await client.post(device_path(), content=b'{"BatteryLevel": 1}', headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].split(";")[0] == expected


async def test_family_a_errors_are_negotiated_too(client: httpx.AsyncClient) -> None:
    await register_device(client)
    response = await client.post(
        device_path(), content=b'{"BatteryLevel": 101}', headers={"Content-Type": "text/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/json")
    assert "request.BatteryLevel" in response.json()["ModelState"]


async def test_accept_any_is_json_for_an_xml_order(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    response = await create(client, order_body(device, customer), "application/xml", Accept="*/*")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"


# --- seven fractional digits ---------------------------------------------------------


async def test_order_times_keep_seven_fractional_digits(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    body = order_body(
        device,
        customer,
        Id="ticks",
        StartTime="2025-11-08T18:49:22.9524191+08:00",
        EndTime="2025-11-08T19:49:22.0000001+08:00",
    )
    response = await create(client, body, "application/xml")
    assert response.status_code == 200, response.text
    order = await stored_order(client, "ticks")
    assert order["StartTime"] == "2025-11-08T10:49:22.9524191Z"
    assert order["EndTime"] == "2025-11-08T11:49:22.0000001Z"
    xml = await client.get(GET_ORDER, params={"id": "ticks"}, headers={"Accept": "text/xml"})
    assert "<StartTime>2025-11-08T10:49:22.9524191Z</StartTime>" in xml.text


async def test_the_seventh_digit_is_part_of_an_orders_content(client: httpx.AsyncClient) -> None:
    """Same Id, times differing only in the 7th digit: different content (422)."""
    device, customer = await order_parties(client)
    first = order_body(device, customer, Id="t7", StartTime="2025-11-08T18:00:00.0000001Z")
    assert (await create(client, first)).status_code == 200
    assert (await create(client, first)).status_code == 200
    other = order_body(device, customer, Id="t7", StartTime="2025-11-08T18:00:00.0000002Z")
    assert (await create(client, other)).status_code == 422


# --- value types and nulls -----------------------------------------------------------


async def test_value_types_not_sent_read_back_as_dotnet_defaults(
    client: httpx.AsyncClient,
) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={"CarModel": "ID.3"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["ChargingMode"], body["SmartModeIsActive"]) == (0, False)
    assert body["FullyChargedBy"] is None
    embedded = (await client.get(device_path())).json()["EvChargingInfo"]
    assert (embedded["ChargingMode"], embedded["SmartModeIsActive"]) == (0, False)


async def test_xml_nil_electric_quantity_stays_null(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="nil")
    del body["ElectricQuantity"]
    xml = as_xml(body).replace(
        b"</ChargingOrderRequest>", b'<ElectricQuantity i:nil="true" /></ChargingOrderRequest>'
    )
    response = await client.post(CREATE, content=xml, headers={"Content-Type": "text/xml"})
    assert response.status_code == 200, response.text
    assert (await stored_order(client, "nil"))["ElectricQuantity"] is None
    reply = await client.get(GET_ORDER, params={"id": "nil"}, headers={"Accept": "text/xml"})
    assert '<ElectricQuantity i:nil="true" />' in reply.text
    assert XSI in reply.text


async def test_xml_nil_on_a_non_nullable_decimal_is_refused_naming_it(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer)
    del body["DiscountPrice"]
    xml = as_xml(body).replace(
        b"</ChargingOrderRequest>", b'<DiscountPrice i:nil="true" /></ChargingOrderRequest>'
    )
    response = await client.post(CREATE, content=xml, headers={"Content-Type": "text/xml"})
    assert response.status_code == 400
    assert [e["field"] for e in envelope(response)["errors"]] == ["DiscountPrice"]


async def test_json_null_electric_quantity_is_null_and_needs_no_power(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer, Id="jnull")
    body["ElectricQuantity"] = None
    response = await client.post(CREATE, json=body)
    assert response.status_code == 200, response.text
    assert (await stored_order(client, "jnull"))["ElectricQuantity"] is None
    summary = await client.get("/api/ChargeOrder/GetSummary", params={"groupBy": "device"})
    assert summary.status_code == 200, summary.text
    assert summary.json()["ElectricQuantity"] == 0


# --- errors from routing and binding -------------------------------------------------


async def test_unknown_route_404_carries_message_detail(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/customers/1/nosuchthing")
    assert response.status_code == 404
    body = response.json()
    assert body["Message"].startswith("No HTTP resource was found")
    assert "/api/customers/1/nosuchthing" in body["MessageDetail"]


async def test_parameter_binding_400_carries_message_detail(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/customers/abc")
    assert response.status_code == 400
    body = response.json()
    assert body["Message"] == "The request is invalid."
    assert "customerId" in body["MessageDetail"]


async def test_405_allow_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.patch(device_path(), json={})
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, POST, PUT"
    create_order = await client.get(CREATE)
    assert create_order.status_code == 405
    assert create_order.headers["Allow"] == "POST"


# --- Json.NET leniencies -------------------------------------------------------------


@pytest.mark.parametrize("blank", ["FullyChargedBy", "BatteryLevel", "GrossBatterySize"])
async def test_empty_string_for_an_optional_date_or_number_reads_as_null(
    client: httpx.AsyncClient, blank: str
) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={blank: "", "CarModel": "x"})
    assert response.status_code == 201, response.text
    assert response.json()[blank] is None


async def test_empty_string_stays_a_string_for_text(client: httpx.AsyncClient) -> None:
    await register_device(client)
    response = await client.post(device_path(), json={"CarModel": ""})
    assert response.status_code == 201, response.text
    assert response.json()["CarModel"] == ""


async def test_empty_string_for_a_required_date_is_refused(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    response = await create(client, order_body(device, customer, StartTime=""))
    assert response.status_code == 400
    assert [e["field"] for e in envelope(response)["errors"]] == ["StartTime"]


LENIENT_BODY = b"""{
  // written by hand, as Json.NET reads it
  'CarModel': 'it\\'s "quoted"',
  /* percent */ "BatteryLevel": 42.5,
  FullyChargedBy: '2025-05-19T22:44:01Z',
  "NetBatterySize": 50,
}"""


async def test_comments_single_quotes_unquoted_names_and_trailing_commas_are_read(
    client: httpx.AsyncClient,
) -> None:
    await register_device(client)
    response = await client.post(
        device_path(), content=LENIENT_BODY, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["CarModel"] == 'it\'s "quoted"'
    assert (body["BatteryLevel"], body["NetBatterySize"]) == (42.5, 50)
    assert body["FullyChargedBy"] == "2025-05-19T22:44:01Z"


async def test_lenient_json_in_family_b(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    text = (
        "{ 'ChargingDeviceId': '" + device + "', 'CustomerId': '" + customer + "', "
        "'StartTime': '2025-11-08 18:00:00', 'EndTime': '2025-11-08 19:00:00', "
        "'Id': 'lenient', /* kWh */ 'ElectricQuantity': 7.5, }"
    )
    response = await client.post(
        CREATE, content=text.encode(), headers={"Content-Type": "text/json"}
    )
    assert response.status_code == 200, response.text
    assert (await stored_order(client, "lenient"))["ElectricQuantity"] == 7.5


@pytest.mark.parametrize(
    "text",
    [b"{'CarModel': 'x'", b"{/* never closed", b"{'CarModel': 'x}", b"{,}", b"[1,,2]"],
)
async def test_broken_lenient_json_is_still_a_400(client: httpx.AsyncClient, text: bytes) -> None:
    await register_device(client)
    response = await client.post(
        device_path(), content=text, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "ModelState" in response.json()


# --- XML binding as documented -------------------------------------------------------


async def test_xml_unknown_elements_with_children_are_ignored(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    xml = as_xml(order_body(device, customer, Id="ext")).replace(
        b"</ChargingOrderRequest>",
        b"<Extension><Vendor>acme</Vendor></Extension></ChargingOrderRequest>",
    )
    response = await client.post(CREATE, content=xml, headers={"Content-Type": "text/xml"})
    assert response.status_code == 200, response.text


async def test_xml_known_member_holding_elements_is_refused_naming_it(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer)
    del body["Remark"]
    xml = as_xml(body).replace(
        b"</ChargingOrderRequest>", b"<Remark><b>x</b></Remark></ChargingOrderRequest>"
    )
    response = await client.post(CREATE, content=xml, headers={"Content-Type": "text/xml"})
    assert response.status_code == 400
    assert [e["field"] for e in envelope(response)["errors"]] == ["Remark"]


async def test_xml_id_in_a_foreign_namespace_and_lower_case_root_bind(
    client: httpx.AsyncClient,
) -> None:
    device, customer = await order_parties(client)
    body = order_body(device, customer)
    xml = (
        as_xml(body)
        .replace(b"<ChargingOrderRequest", b"<chargingorderrequest")
        .replace(
            b"</ChargingOrderRequest>", b'<Id xmlns="urn:other">foreign</Id></chargingorderrequest>'
        )
    )
    response = await client.post(CREATE, content=xml, headers={"Content-Type": "text/xml"})
    assert response.status_code == 200, response.text
    assert (await stored_order(client, "foreign"))["Id"] == "foreign"
