"""The charger page's commands form and OCPP message log, over HTTP, with a simulated
charger on a real socket."""

from __future__ import annotations

import html

import httpx
from fastapi import FastAPI

from evcharge.ocpp.simulator.charger import Charger
from tests.console.test_console import admin_browser, browser, form_token, sign_in
from tests.factories import create_key
from tests.ocpp.conftest import ID_TAG, PASSWORD, ocpp_url, register_charger

__all__ = ["admin_browser", "ocpp_url"]  # fixtures: a signed-in admin, the OCPP server


async def test_a_command_from_the_form_shows_the_chargers_reply_and_lands_in_the_log(
    app: FastAPI, admin_browser: httpx.AsyncClient, client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        await charger.boot()
        page = await admin_browser.get("/ui/chargers/CP-1")
        assert page.status_code == 200
        assert '<option value="Reset"' in page.text  # an admin has every command
        form = {"csrf": form_token(page.text), "action": "UnlockConnector"}
        sent = await admin_browser.post(
            "/ui/chargers/CP-1/commands", data={**form, "payload": '{"connectorId": 1}'}
        )
        assert sent.status_code == 200, sent.text
        shown = html.unescape(sent.text)
        assert "UnlockConnector:" in shown and '"status": "Unlocked"' in shown
        assert await charger.commands.get() == ("UnlockConnector", {"connector_id": 1})

        invalid = await admin_browser.post(
            "/ui/chargers/CP-1/commands", data={**form, "payload": '{"connectorId": "x"}'}
        )
        assert invalid.status_code == 400
        assert "request.connectorId" in invalid.text
        unreadable = await admin_browser.post(
            "/ui/chargers/CP-1/commands", data={**form, "payload": "{connectorId"}
        )
        assert unreadable.status_code == 400 and "Invalid JSON" in unreadable.text
        forged = await admin_browser.post(
            "/ui/chargers/CP-1/commands", data={**form, "csrf": "guess", "payload": "{}"}
        )
        assert forged.status_code == 403
        assert charger.commands.empty()
    finally:
        await charger.drop()
    await app.state.ocpp.frames.flush()
    logged = html.unescape((await admin_browser.get("/ui/chargers/CP-1")).text)
    assert "CALL UnlockConnector" in logged and "to the charger" in logged
    assert "CALL BootNotification" in logged and "from the charger" in logged


async def test_a_customer_key_gets_start_and_stop_only_and_not_another_customers_charger(
    app: FastAPI, client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    await register_charger(client, "CP-2", customer=2, id_tag=None)
    _, key = await create_key(app, customer=1)
    async with browser(app) as http:
        assert (await sign_in(http, key)).status_code == 303
        page = await http.get("/ui/chargers/CP-1")
        assert '<option value="RemoteStartTransaction"' in page.text
        assert '<option value="Reset"' not in page.text
        token = form_token(page.text)
        reset = await http.post(
            "/ui/chargers/CP-1/commands",
            data={"csrf": token, "action": "Reset", "payload": '{"type": "Soft"}'},
        )
        assert reset.status_code == 403 and "customer API key" in reset.text
        other = await http.post(
            "/ui/chargers/CP-2/commands",
            data={"csrf": token, "action": "RemoteStartTransaction", "payload": "{}"},
        )
        assert other.status_code == 404
        offline = await http.post(
            "/ui/chargers/CP-1/commands",
            data={
                "csrf": token,
                "action": "RemoteStartTransaction",
                "payload": f'{{"idTag": "{ID_TAG}"}}',
            },
        )
        assert offline.status_code == 409 and "not connected" in offline.text
