"""The console's chargers section over HTTP, fed by a simulated charger over a real socket."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI

from evcharge.auth.principal import Principal
from evcharge.console.signin import fingerprint
from evcharge.ocpp.simulator.charger import Charger
from tests.console.test_console import admin_browser, browser, sign_in
from tests.factories import create_key
from tests.ocpp.conftest import ID_TAG, PASSWORD, ocpp_url, register_charger

__all__ = ["admin_browser", "ocpp_url"]  # fixtures: a signed-in admin, the OCPP server

ADMIN = Principal(key_id="test", role="admin")


def _row(page: str, charge_point_id: str) -> str:
    """The table row of one charger in the chargers list ("" when it is not listed)."""
    found = re.search(rf'<tr><td><a href="/ui/chargers/{charge_point_id}">.*?</tr>', page, re.S)
    return found.group(0) if found else ""


async def _until(read: Callable[[], Awaitable[str]], wanted: Callable[[str], bool]) -> str:
    """Read until `wanted` holds: meter values are stored by a batching writer, and a
    close is recorded once the server has read it."""
    text = await read()
    for _ in range(250):
        if wanted(text):
            break
        await asyncio.sleep(0.02)
        text = await read()
    return text


def _reader(http: httpx.AsyncClient, path: str, **params: str) -> Callable[[], Awaitable[str]]:
    async def read() -> str:
        response = await http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.text

    return read


async def test_a_simulated_charger_goes_from_available_to_charging_with_its_power(
    app: FastAPI, admin_browser: httpx.AsyncClient, client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    page = _reader(admin_browser, "/ui/chargers")
    before = _row(await page(), "CP-1")
    assert "not connected" in before and "never" in before
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        assert await charger.boot() == "Accepted"
        await charger.send(charger.status(1, "Available"))
        available = _row(await page(), "CP-1")
        assert 'class="badge ok">connected' in available and ">Available<" in available
        assert "never" not in available  # the boot counts as the first heartbeat
        assert '<td class="num">—</td>' in available  # no power reported yet
        baseline = await fingerprint(app.state, ADMIN)

        started = await charger.send(charger.start(1, ID_TAG))
        await charger.send(charger.status(1, "Charging"))
        await charger.send(charger.meter_value(1, started.transaction_id))
        charging = _row(await _until(page, lambda t: "7.0</td>" in _row(t, "CP-1")), "CP-1")
        assert 'class="badge ok">connected' in charging and ">Charging<" in charging
        assert '<td class="num">7.0</td>' in charging  # 7000 W: the latest Power.Active.Import
        assert await fingerprint(app.state, ADMIN) != baseline  # the live update is announced

        detail = await admin_browser.get("/ui/chargers/CP-1")
        assert detail.status_code == 200
        assert f"<td>{started.transaction_id}</td>" in detail.text and ID_TAG in detail.text
        assert 'class="badge ok">charging</span>' in detail.text
        for measurand in ("Power.Active.Import", "Energy.Active.Import.Register", "SoC"):
            assert f"<td>{measurand}</td>" in detail.text
        assert "7.0 kW" in detail.text
    finally:
        await charger.drop()
    connected = _reader(admin_browser, "/ui/chargers", state="connected")
    assert _row(await _until(connected, lambda t: "CP-1" not in t), "CP-1") == ""
    disconnected = await _reader(admin_browser, "/ui/chargers", state="disconnected")()
    assert "not connected" in _row(disconnected, "CP-1")
    named = await _reader(admin_browser, "/ui/chargers", q="cp-")()
    assert _row(named, "CP-1") and "1 charger<" in named
    assert "0 chargers" in await _reader(admin_browser, "/ui/chargers", q="nothing")()


async def test_a_customer_key_sees_only_its_own_chargers(
    app: FastAPI, client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1", customer=1)
    await register_charger(client, "CP-2", customer=2, id_tag="CARD-0002")
    customer = uuid.UUID((await client.get("/api/customers/1")).json()["Id"])
    own_principal = Principal("c1", "customer", customer_number=1, customer_uuid=customer)
    mine, other = Charger(ocpp_url, "CP-1", PASSWORD), Charger(ocpp_url, "CP-2", PASSWORD)
    await mine.connect()
    await other.connect()
    try:
        assert await mine.boot() == "Accepted" and await other.boot() == "Accepted"
        _id, key = await create_key(app, customer=1)
        async with browser(app) as http:
            assert (await sign_in(http, key)).status_code == 303
            listing = await _reader(http, "/ui/chargers")()
            assert _row(listing, "CP-1") and not _row(listing, "CP-2")
            assert "CP-2" not in listing and "1 charger<" in listing
            assert (await http.get("/ui/chargers/CP-1")).status_code == 200
            refused = await http.get("/ui/chargers/CP-2")
            assert refused.status_code == 404 and "CP-2" in refused.text
            assert (await http.get("/ui/chargers/NOPE")).status_code == 404
        # Another customer's charger changing state moves nothing this customer watches.
        before = await fingerprint(app.state, own_principal)
        await other.send(other.status(1, "Charging"))
        assert await fingerprint(app.state, own_principal) == before
        assert await fingerprint(app.state, ADMIN) != before
        await mine.send(mine.status(1, "Charging"))  # its own charger: moves
        assert await fingerprint(app.state, own_principal) != before
    finally:
        await mine.drop()
        await other.drop()
