"""Sending a ChargingOrderRequest in each of the seed's media types, reading the envelope."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import defusedxml.ElementTree as ElementTree
import httpx

CREATE = "/api/ChargeOrder/CreateOrder"
REQUEST_NS = "http://schemas.datacontract.org/2004/07/Applications.Services.Dtos.Charge.RequestDto"
RESULT_NS = "http://schemas.datacontract.org/2004/07/Applications.WebApi.Common"
ID_NS = "http://schemas.datacontract.org/2004/07/Util.Applications"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

FORMATS = ("application/json", "text/json", "application/xml", "text/xml", "form")


def as_xml(body: dict[str, Any], *, namespaces: bool = True) -> bytes:
    def text(value: Any) -> str:
        return str(value).replace("&", "&amp;").replace("<", "&lt;")

    members = []
    for name, value in body.items():
        attr = f' xmlns="{ID_NS}"' if name == "Id" and namespaces else ""
        members.append(f"<{name}{attr}>{text(value)}</{name}>")
    head = f' xmlns:i="{XSI}" xmlns="{REQUEST_NS}"' if namespaces else ""
    return f"<ChargingOrderRequest{head}>{''.join(members)}</ChargingOrderRequest>".encode()


def encode(body: dict[str, Any], fmt: str) -> tuple[bytes, str]:
    """(content, Content-Type) of `body` in format `fmt` (one of FORMATS)."""
    import json

    if fmt in ("application/json", "text/json"):
        return json.dumps(body).encode(), fmt
    if fmt in ("application/xml", "text/xml"):
        return as_xml(body), fmt
    return urlencode({k: str(v) for k, v in body.items()}).encode(), (
        "application/x-www-form-urlencoded"
    )


async def create(
    client: httpx.AsyncClient, body: dict[str, Any], fmt: str = "application/json", **headers: str
) -> httpx.Response:
    content, content_type = encode(body, fmt)
    return await client.post(
        CREATE, content=content, headers={"Content-Type": content_type, **headers}
    )


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The ResultMessage of a reply in either format, as the JSON shape."""
    if "xml" in response.headers["content-type"]:
        return xml_envelope(response.content)
    data: dict[str, Any] = response.json()
    return data


def xml_envelope(content: bytes) -> dict[str, Any]:
    root = ElementTree.fromstring(content)
    ns = {"r": RESULT_NS, "a": "http://schemas.microsoft.com/2003/10/Serialization/Arrays"}
    assert root.tag == f"{{{RESULT_NS}}}Result"
    url = root.find("r:Url", ns)
    assert url is not None
    errors = []
    for valid in root.findall("r:Errors/r:ValidErrors", ns):
        field = valid.find("r:_x003C_Field_x003E_k__BackingField", ns)
        messages = valid.findall("r:_x003C_ErrorMessages_x003E_k__BackingField/a:string", ns)
        assert field is not None
        errors.append({"field": field.text, "errorMessages": [m.text for m in messages]})
    status = root.findtext("r:Status", namespaces=ns)
    return {
        "status": {"Fail": 0, "Success": 1}[status or ""],
        "message": root.findtext("r:Message", namespaces=ns),
        "errors": errors,
        "url": None if url.get(f"{{{XSI}}}nil") == "true" else url.text,
    }


def fields(response: httpx.Response) -> dict[str, list[str]]:
    return {e["field"]: e["errorMessages"] for e in envelope(response)["errors"]}


async def total_orders(client: httpx.AsyncClient) -> int:
    response = await client.get("/api/ChargeOrder/GetOrders")
    assert response.status_code == 200, response.text
    total: int = response.json()["TotalCount"]
    return total
