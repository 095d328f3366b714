"""OCPP in /metrics: connected chargers and messages by action and direction."""

from __future__ import annotations

import asyncio

import httpx
from ocpp.v16 import call

from evcharge.ocpp.simulator.charger import Charger
from tests.ocpp.conftest import PASSWORD, register_charger
from tests.operations.test_metrics import scraped

CONNECTED = "evcharge_chargers_connected"
MESSAGES = "evcharge_ocpp_messages_total"
SECONDS = "evcharge_ocpp_message_duration_seconds_count"


async def _scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


async def _until_connected(client: httpx.AsyncClient, expected: float) -> float:
    """The gauge once the server has noticed the closes (it reads the socket's end)."""
    value = scraped(await _scrape(client), CONNECTED)
    for _ in range(200):
        if value == expected:
            break
        await asyncio.sleep(0.01)
        value = scraped(await _scrape(client), CONNECTED)
    return value


async def test_connected_chargers_and_messages_are_counted_over_a_real_socket(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    before = await _scrape(client)
    connected = scraped(before, CONNECTED)
    boots = scraped(before, MESSAGES, action="BootNotification", direction="in")
    beats = scraped(before, MESSAGES, action="Heartbeat", direction="in")
    malformed = scraped(before, MESSAGES, action="malformed", direction="in")

    first, second = Charger(ocpp_url, "CP-1", PASSWORD), Charger(ocpp_url, "CP-1", PASSWORD)
    await first.connect()
    try:
        assert await first.boot() == "Accepted"
        assert scraped(await _scrape(client), CONNECTED) == connected + 1
        await second.connect()  # replaces the first: still one charger connected
        await asyncio.wait_for(first.socket.wait_closed(), 5)
        assert await second.boot() == "Accepted"
        await second.socket.send("[2, not json")
        await second.send(call.Heartbeat())  # answered after the malformed frame's error
        assert await _until_connected(client, connected + 1) == connected + 1
    finally:
        await first.drop()
        await second.drop()
    assert await _until_connected(client, connected) == connected

    after = await _scrape(client)
    assert scraped(after, MESSAGES, action="BootNotification", direction="in") == boots + 2
    assert scraped(after, MESSAGES, action="Heartbeat", direction="in") == beats + 1
    assert scraped(after, MESSAGES, action="malformed", direction="in") == malformed + 1
    assert scraped(after, SECONDS, action="BootNotification", direction="in") >= boots + 2
