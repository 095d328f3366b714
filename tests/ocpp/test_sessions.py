"""Chargers driven by the simulator over a real socket: sessions become orders."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from evcharge.ocpp.simulator.charger import Charger
from evcharge.ocpp.simulator.runner import STEP, Scenario, run
from tests.ocpp.conftest import ID_TAG, PASSWORD, register_charger, transactions


async def _order(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await client.get("/api/ChargeOrder/GetOrder", params={"id": order_id})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


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
    [tx] = await transactions(client, "CP-1")
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


async def test_a_stop_is_answered_while_billing_waits_and_billed_after(
    client: httpx.AsyncClient, app: FastAPI, database_url: str, ocpp_url: str
) -> None:
    """The answer to a StopTransaction waits for the stop to be stored, not for its order:
    with the orders table locked by another connection the charger still has its answer
    at once, and the order follows when the lock goes (PostgreSQL: SQLite has one writer
    for everything, the stop included)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a lock on the orders table alone needs PostgreSQL")
    await register_charger(client, "CP-1")
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    locker = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await charger.boot() == "Accepted"
        await charger.start_session(1, ID_TAG)
        charger.advance(STEP)
        async with locker.transaction():
            await locker.execute("LOCK TABLE charge_orders IN ACCESS EXCLUSIVE MODE")
            assert charger.session is not None
            _connector, transaction_id, id_tag = charger.session
            stop = charger.stop(transaction_id, id_tag, "Local")
            answer, seconds = await asyncio.wait_for(charger.timed(stop), timeout=30)
            assert answer.id_tag_info["status"] == "Accepted"
            # Waiting for the order would have taken the database's command timeout (the
            # INSERT queues behind the lock until then): the answer came well before.
            assert seconds < app.state.settings.db_timeout_seconds / 2, seconds
            [tx] = (await client.get("/api/chargers/CP-1/transactions")).json()["Items"]
            assert tx["StopTime"] is not None and tx["OrderId"] is None  # not billed yet
        [tx] = await transactions(client, "CP-1")
        order = await _order(client, tx["OrderId"])
        assert Decimal(str(order["ElectricQuantity"])) == Decimal("1.75")  # 15 min at 7 kW
    finally:
        await locker.close()
        await charger.drop()
