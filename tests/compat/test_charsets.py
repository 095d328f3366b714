"""A charset is a text encoding or the body is refused: 415 for one that is not (Python's
zlib, base64 and rot13 codecs are no charsets), 400 for bytes the declared charset cannot
read — never silently replaced — and a form's declared charset is honoured."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.factories import device_path, order_body, order_parties, register_device
from tests.orders.wire import CREATE

NOT_TEXT = [
    "zlib",
    "base64",
    "rot13",
    "hex",
    "bz2",
    "uu",
    "quopri",
    "idna",
    "unicode_escape",
    "x-nothing",
]
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("charset", NOT_TEXT)
async def test_a_charset_that_is_not_a_text_encoding_is_415_in_both_families(
    client: httpx.AsyncClient, charset: str
) -> None:
    await register_device(client)
    seed_a = await client.post(
        device_path(),
        content=b'{"ChargingMode": 0}',
        headers={"Content-Type": f"application/json; charset={charset}"},
    )
    assert seed_a.status_code == 415, seed_a.text
    assert charset in seed_a.json()["Message"]
    device, customer = await order_parties(client)
    for kind in ("application/json", "application/xml", FORM):
        seed_b = await client.post(
            CREATE,
            content=json.dumps(order_body(device, customer)).encode(),
            headers={"Content-Type": f"{kind}; charset={charset}", "Accept": "application/json"},
        )
        assert seed_b.status_code == 415, (kind, seed_b.text)
        assert seed_b.json()["status"] == 0
        assert charset in seed_b.json()["message"]


@pytest.mark.parametrize("encoding", ["zlib", "rot13", "base64", "shift_jis"])
async def test_an_xml_declaration_naming_an_unreadable_encoding_is_415(
    client: httpx.AsyncClient, encoding: str
) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?><ChargingOrderRequest/>'.encode()
    response = await client.post(
        CREATE,
        content=body,
        headers={"Content-Type": "application/xml", "Accept": "application/json"},
    )
    assert response.status_code == 415, response.text
    assert response.json()["status"] == 0


async def test_bytes_invalid_for_the_declared_charset_are_400_never_replaced(
    client: httpx.AsyncClient,
) -> None:
    await register_device(client)
    bad_utf8 = b'{"ChargingMode": 0, "CarModel": "Z\xff"}'
    for charset in ("", "; charset=utf-8"):
        response = await client.post(
            device_path(), content=bad_utf8, headers={"Content-Type": "application/json" + charset}
        )
        assert response.status_code == 400, response.text
    device, customer = await order_parties(client)
    xml = (
        f"<ChargingOrderRequest><ChargingDeviceId>{device}</ChargingDeviceId><CustomerId>{customer}</CustomerId>"
        "<StartTime>2025-11-08T18:00:00Z</StartTime><EndTime>2025-11-08T19:00:00Z</EndTime>"
        "<Remark>Z\xff</Remark></ChargingOrderRequest>"
    )
    for charset in ("", "; charset=utf-8"):
        response = await client.post(
            CREATE,
            content=xml.encode("latin-1"),
            headers={"Content-Type": "application/xml" + charset, "Accept": "application/json"},
        )
        assert response.status_code == 400, response.text
    form = (
        f"ChargingDeviceId={device}&CustomerId={customer}&StartTime=2025-11-08T18:00:00Z"
        "&EndTime=2025-11-08T19:00:00Z&Remark=Z%FF"
    )
    response = await client.post(CREATE, content=form.encode(), headers={"Content-Type": FORM})
    assert response.status_code == 400, response.text
    assert response.json()["status"] == 0
    listed = await client.get("/api/ChargeOrder/GetOrders")
    assert listed.json()["TotalCount"] == 0


async def test_a_forms_declared_charset_is_honoured(client: httpx.AsyncClient) -> None:
    device, customer = await order_parties(client)
    base = f"ChargingDeviceId={device}&CustomerId={customer}&StartTime=2025-11-08T18:00:00Z"
    latin = base + "&EndTime=2025-11-08T19:00:00Z&Id=latin&Remark=Caf%E9+cr%E8me"
    response = await client.post(
        CREATE, content=latin.encode(), headers={"Content-Type": FORM + "; charset=iso-8859-1"}
    )
    assert response.status_code == 200, response.text
    utf8 = base.replace("18:00", "20:00") + "&EndTime=2025-11-08T21:00:00Z&Id=utf8&Remark=Caf%C3%A9"
    response = await client.post(CREATE, content=utf8.encode(), headers={"Content-Type": FORM})
    assert response.status_code == 200, response.text
    remarks = {
        order_id: (await client.get(f"/api/ChargeOrder/GetOrder?id={order_id}")).json()["Remark"]
        for order_id in ("latin", "utf8")
    }
    assert remarks == {"latin": "Café crème", "utf8": "Café"}


async def test_json_in_a_declared_single_byte_charset_is_read_in_it(
    client: httpx.AsyncClient,
) -> None:
    await register_device(client)
    response = await client.post(
        device_path(),
        content='{"CarModel": "Zoé"}'.encode("iso-8859-1"),
        headers={"Content-Type": "application/json; charset=ISO-8859-1"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["CarModel"] == "Zoé"
