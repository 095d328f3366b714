"""The OpenAPI document says what the binder accepts (compat/wire_schema.py): values at
the edges of each documented alternative are accepted exactly when the schema says so."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import device_path, register_device

SEED_A = (
    "/api/customers/{customerId}/contracts/{contractNo}/gateways/{gatewayAssetId}"
    "/evchargingdevices/{deviceAssetId}"
)


async def documented(client: httpx.AsyncClient, schema: str, prop: str) -> list[dict[str, Any]]:
    document = (await client.get("/openapi.json")).json()
    alternatives: list[dict[str, Any]] = document["components"]["schemas"][schema]["properties"][
        prop
    ]["anyOf"]
    return alternatives


def allowed(alternatives: list[dict[str, Any]], value: str) -> bool:
    """Whether `value` matches some string alternative's pattern (formats aside)."""
    for alt in alternatives:
        if alt.get("type") != "string":
            continue
        if alt.get("maxLength") == 0:
            if value == "":
                return True
            continue
        if re.search(alt["pattern"], value):
            return True
    return False


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("2025-05-19T22:44:01.1571182+14:59", True),
        ("2025-05-19T22:44:01Z", True),
        ("2025-05-19 22:44:01", True),
        ("2025-05-19T22:44", True),
        ("/Date(1747694641157+0200)/", True),
        ("", True),
        ("2025-05-19T22:44:01.12345678Z", False),
        ("2025-05-19T22:44:01+15:00", False),
        ("0000-05-19T22:44:01Z", False),
        ("2025-05-19T24:00:00Z", False),
        ("/Date(1.5)/", False),
    ],
)
async def test_documented_date_forms_are_exactly_the_accepted_ones(
    client: httpx.AsyncClient, text: str, accepted: bool
) -> None:
    alternatives = await documented(client, "EvChargingInformationReq", "FullyChargedBy")
    assert allowed(alternatives, text) is accepted
    await register_device(client)
    response = await client.post(device_path(), json={"FullyChargedBy": text})
    assert (response.status_code == 201) is accepted, response.text


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("0.000001", True), ("1000", False), ("999.999999", True), ("0.0000001", False), ("0", False)],
)
async def test_decimal_text_follows_the_documented_bounds(
    client: httpx.AsyncClient, value: str, accepted: bool
) -> None:
    """GrossBatterySize: > 0 once rounded to 6 places, ≤ 1000 (as text: < 1000)."""
    alternatives = await documented(client, "EvChargingInformationReq", "GrossBatterySize")
    assert allowed(alternatives, value) is accepted
    await register_device(client)
    response = await client.post(device_path(), json={"GrossBatterySize": value})
    if accepted:
        assert response.status_code == 201, response.text


async def test_numbers_for_text_are_documented_and_bound_as_json_net_writes_them(
    client: httpx.AsyncClient,
) -> None:
    alternatives = await documented(client, "GatewayPut", "PriceArea")
    assert {"type": "integer", "minimum": 0, "maximum": 10**16 - 1} in alternatives
    response = await client.put("/api/customers/1", json={"Name": 2940.0})
    assert response.status_code == 201, response.text
    assert response.json()["Name"] == "2940"


async def test_family_a_documents_text_html_bodies(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    content = document["paths"][SEED_A]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "text/json", "text/html"}
