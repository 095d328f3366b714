"""Chargers driven by the simulator over a real socket: sessions become orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from evcharge.ocpp.simulator.charger import Charger
from evcharge.ocpp.simulator.runner import STEP, Scenario, run
from tests.ocpp.conftest import ID_TAG, PASSWORD, register_charger


async def _order(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await client.get("/api/ChargeOrder/GetOrder", params={"id": order_id})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def _transactions(client: httpx.AsyncClient, cpid: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/chargers/{cpid}/transactions")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["Items"]
    return items


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_session_becomes_an_order_with_quantity_customer_and_times(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    customer = (await client.get("/api/customers/1")).json()
    report = await run(ocpp_url, ["CP-1"], PASSWORD, Scenario(meter_values=3, id_tag=ID_TAG))
    assert not report.failed, report.summary()
    [outcome] = report.outcomes
    assert outcome.boot == "Accepted"
    [tx] = await _transactions(client, "CP-1")
    assert tx["State"] == "stopped" and tx["Flags"] == []
    order = await _order(client, tx["OrderId"])
    # 4 steps of 15 minutes at 7 kW: 7 kWh, from the charger's own timestamps.
    assert Decimal(str(order["ElectricQuantity"])) == Decimal("7")
    assert order["CustomerId"] == customer["Id"]
    assert order["Source"] == "ocpp"
    assert _when(order["EndTime"]) - _when(order["StartTime"]) == 4 * STEP
    assert _when(tx["StartTime"]) == _when(order["StartTime"])
    values = await client.get(f"/api/chargers/CP-1/transactions/{tx['TransactionId']}/metervalues")
    measurands = {v["Measurand"] for v in values.json()["Items"]}
    assert measurands == {"Energy.Active.Import.Register", "Power.Active.Import", "SoC"}
    contexts = {v["Context"] for v in values.json()["Items"]}
    assert contexts == {"Sample.Periodic", "Transaction.End"}


async def test_charger_listing_shows_connection_and_connector_state(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        assert await charger.boot() == "Accepted"
        await charger.send(charger.status(1, "Preparing"))
        listing = (await client.get("/api/chargers")).json()
        [item] = listing["Items"]
        assert item["ChargePointId"] == "CP-1" and item["Connected"] is True
        assert item["ServerProcess"] is not None and item["LastHeartbeat"] is not None
        assert item["Connectors"][0]["Status"] == "Preparing"
        assert item["Device"]["DeviceAssetId"] == 1
    finally:
        await charger.drop()
