"""Untrusted XML: no DTDs, no entities, no external references — refused fast, in the envelope."""

from __future__ import annotations

import time
import tracemalloc

import httpx
import pytest

from tests.orders.wire import CREATE, envelope

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ChargingOrderRequest><Remark>&lol9;</Remark></ChargingOrderRequest>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ChargingOrderRequest><Remark>&xxe;</Remark></ChargingOrderRequest>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE ChargingOrderRequest SYSTEM "http://127.0.0.1:9/evil.dtd">
<ChargingOrderRequest />"""

QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><ChargingOrderRequest><Remark>'
    + b"&a;" * 5_000
    + b"</Remark></ChargingOrderRequest>"
)


@pytest.mark.parametrize(
    "attack",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, QUADRATIC_BLOWUP],
    ids=["billion-laughs", "external-entity", "external-dtd", "quadratic-blowup"],
)
async def test_xml_attacks_are_refused_fast_with_400_in_the_envelope(
    client: httpx.AsyncClient, attack: bytes
) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    response = await client.post(CREATE, content=attack, headers={"Content-Type": "text/xml"})
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Expanded, these attacks take hundreds of MB to GB; refused, memory stays flat.
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    result = envelope(response)
    assert result["status"] == 0
    assert "DTD" in result["errors"][0]["errorMessages"][0]
    assert "root:" not in response.text  # nothing of /etc/passwd
    assert elapsed < 1.0


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<ChargingOrderRequest><Remark>x</Remark>", "not well-formed"),
        (b"<Order />", "Expecting element 'ChargingOrderRequest'"),
        (b'<ChargingOrderRequest xmlns="urn:other" />', "Expecting element"),
        (
            b"<ChargingOrderRequest><Remark>a</Remark><remark>b</remark></ChargingOrderRequest>",
            "more than once",
        ),
        (b"<ChargingOrderRequest><Remark><b>x</b></Remark></ChargingOrderRequest>", "Remark"),
    ],
)
async def test_malformed_or_foreign_xml_is_400_saying_why(
    client: httpx.AsyncClient, body: bytes, problem: str
) -> None:
    response = await client.post(CREATE, content=body, headers={"Content-Type": "application/xml"})
    assert response.status_code == 400
    assert problem in response.text
