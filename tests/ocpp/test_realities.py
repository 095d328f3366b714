"""What real chargers do (issue 9 item 4): each behaviour over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI

from evcharge.ocpp.simulator.charger import EPOCH_1970, Charger
from evcharge.ocpp.simulator.runner import STEP, Scenario, run
from tests.ocpp.conftest import ID_TAG, PASSWORD, register_charger, transactions


async def _order(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await client.get("/api/ChargeOrder/GetOrder", params={"id": order_id})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _kwh(value: Any) -> Decimal:
    return Decimal(str(value))


async def _run(url: str, **flags: Any) -> None:
    report = await run(url, ["CP-1"], PASSWORD, Scenario(id_tag=ID_TAG, **flags))
    assert not report.failed, report.summary()


async def test_offline_queue_is_replayed_in_order_with_old_timestamps(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client)
    await _run(ocpp_url, offline_queue=True, meter_values=4)
    [tx] = await transactions(client)
    assert tx["State"] == "stopped" and tx["Flags"] == []
    order = await _order(client, tx["OrderId"])
    assert _kwh(order["ElectricQuantity"]) == Decimal("8.75")  # 5 × 15 min at 7 kW
    start = datetime.fromisoformat(order["StartTime"])
    assert datetime.now(UTC) - start > timedelta(hours=20)  # the charger's old time, kept
    assert datetime.fromisoformat(order["EndTime"]) - start == 5 * STEP
    values = (
        await client.get(f"/api/chargers/CP-1/transactions/{tx['TransactionId']}/metervalues")
    ).json()["Items"]
    energy = [v for v in values if v["Measurand"] == "Energy.Active.Import.Register"]
    stamps = [v["Timestamp"] for v in energy]
    assert stamps == sorted(stamps) and len(energy) == 5


async def test_stop_for_unknown_transaction_or_minus_one_is_answered_and_kept(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client)
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        await charger.boot()
        for transaction_id in (-1, 987654):
            result = await charger.send(charger.stop(transaction_id, ID_TAG))
            assert result.id_tag_info["status"] == "Accepted"
    finally:
        await charger.drop()
    orphans = await transactions(client)
    assert len(orphans) == 2
    for orphan in orphans:
        assert orphan["State"] == "orphan_stop" and orphan["OrderId"] is None
        assert "unknown transactionId" in orphan["OrderError"]
    orders = (await client.get("/api/ChargeOrder/GetOrders")).json()
    assert orders["TotalCount"] == 0


async def test_lost_stop_is_closed_by_rule_when_the_connector_is_available_again(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client)
    await _run(ocpp_url, lost_stop=True, meter_values=3)
    [tx] = await transactions(client)
    assert tx["State"] == "closed_by_rule" and "closed_by_rule" in tx["Flags"]
    order = await _order(client, tx["OrderId"])
    # The last register the server saw (3 steps at 7 kW); the stop's step is lost.
    assert _kwh(order["ElectricQuantity"]) == Decimal("5.25")


async def test_lost_stop_is_closed_by_rule_after_silence(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str
) -> None:
    await register_charger(client)
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        await charger.boot()
        started = await charger.send(charger.start(1, ID_TAG))
        charger.advance(STEP)
        await charger.send(charger.meter_value(1, started.transaction_id))
    finally:
        await charger.drop()
    central = app.state.ocpp
    await central.sweep()  # not silent long enough yet
    assert (await transactions(client))[0]["State"] == "active"
    silence = timedelta(seconds=app.state.settings.ocpp_transaction_silence_seconds)
    original = app.state.clock
    app.state.clock = lambda: original() + silence + timedelta(minutes=1)
    try:
        await central.sweep()
    finally:
        app.state.clock = original
    [tx] = await transactions(client)
    assert tx["State"] == "closed_by_rule" and tx["OrderId"] is not None
    assert _kwh((await _order(client, tx["OrderId"]))["ElectricQuantity"]) == Decimal("1.75")


async def test_meter_reset_is_flagged_and_never_negative(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client)
    await _run(ocpp_url, meter_reset=True, meter_values=4)
    [tx] = await transactions(client)
    assert "meter_reset" in tx["Flags"]
    order = await _order(client, tx["OrderId"])
    # Steps 1-2 counted (3.5 kWh), reset to 0.5 kWh counted from zero, then 2 more steps.
    assert _kwh(order["ElectricQuantity"]) == Decimal("0.5") + Decimal("3.5") + Decimal("3.5")


async def test_clock_at_1970_is_flagged_and_server_time_used(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str
) -> None:
    await register_charger(client)
    before = datetime.now(UTC)
    ticks = iter(range(1_000))
    original = app.state.clock
    # The server's clock moves 15 minutes per message, as a real session's would.
    app.state.clock = lambda: before + next(ticks) * STEP
    try:
        await _run(ocpp_url, clock_1970=True, meter_values=2)
    finally:
        app.state.clock = original
    [tx] = await transactions(client)
    assert "clock_not_set" in tx["Flags"]
    assert datetime.fromisoformat(tx["ChargerStartTime"]) == EPOCH_1970
    order = await _order(client, tx["OrderId"])
    assert datetime.fromisoformat(order["StartTime"]) > before
    assert datetime.fromisoformat(order["EndTime"]) > datetime.fromisoformat(order["StartTime"])
    assert _kwh(order["ElectricQuantity"]) == Decimal("5.25")


async def test_kwh_sent_as_wh_is_corrected_within_a_sane_range(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client)
    await _run(ocpp_url, kwh_as_wh=True, meter_values=3)
    [tx] = await transactions(client)
    assert "unit_corrected" in tx["Flags"] and "meter_reset" not in tx["Flags"]
    assert _kwh((await _order(client, tx["OrderId"]))["ElectricQuantity"]) == Decimal("7")


async def test_reconnect_storm_resent_start_gets_the_same_transaction(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    for n in range(1, 6):
        await register_charger(client, f"CP-{n}", device=n, id_tag=ID_TAG if n == 1 else None)
    ids = [f"CP-{n}" for n in range(1, 6)]
    report = await run(ocpp_url, ids, PASSWORD, Scenario(id_tag=ID_TAG, reconnect_storm=True))
    assert not report.failed, report.summary()
    for cpid in ids:
        [tx] = await transactions(client, cpid)
        assert tx["OrderId"] is not None and tx["State"] == "stopped"
    orders = (await client.get("/api/ChargeOrder/GetOrders")).json()
    assert orders["TotalCount"] == 5


async def test_stop_refused_by_an_order_rule_is_kept_with_the_reason(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, max_power_kw=1)  # cannot deliver 7 kW
    await _run(ocpp_url, meter_values=2)
    [tx] = await transactions(client)
    assert tx["State"] == "stopped" and tx["OrderId"] is None
    assert "ElectricQuantity" in tx["OrderError"]
    assert _kwh(tx["EnergyKwh"]) == Decimal("5.25")


async def test_unknown_id_tag_is_invalid_and_the_session_is_kept_unbilled(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, id_tag=None)
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        await charger.boot()
        result = await charger.send(__import__("ocpp.v16.call").v16.call.Authorize(id_tag="NOPE"))
        assert result.id_tag_info["status"] == "Invalid"
        started = await charger.send(charger.start(1, "NOPE"))
        assert started.id_tag_info["status"] == "Invalid"
        charger.advance(STEP)
        await charger.send(charger.stop(started.transaction_id, "NOPE"))
    finally:
        await charger.drop()
    [tx] = await transactions(client)
    assert tx["OrderId"] is None and "no customer" in tx["OrderError"]


async def test_blocked_and_expired_id_tags_are_answered_as_such(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    from ocpp.v16 import call

    await register_charger(client)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert (
        await client.put("/api/customers/1/idtags/OLD-CARD", json={"ExpiryDate": past})
    ).status_code == 201
    assert (
        await client.put("/api/customers/1/idtags/LOST-CARD", json={"Status": "Blocked"})
    ).status_code == 201
    refused = await client.put("/api/customers/1/idtags/X", json={"Status": "Maybe"})
    assert refused.status_code == 400 and "Status" in str(refused.json()["ModelState"])
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        await charger.boot()
        expired = await charger.send(call.Authorize(id_tag="OLD-CARD"))
        blocked = await charger.send(call.Authorize(id_tag="LOST-CARD"))
        accepted = await charger.send(call.Authorize(id_tag=ID_TAG))
    finally:
        await charger.drop()
    assert expired.id_tag_info["status"] == "Expired"
    assert blocked.id_tag_info["status"] == "Blocked"
    assert accepted.id_tag_info["status"] == "Accepted"


async def test_registers_no_meter_counts_to_are_answered_flagged_and_billed_to_the_last_plausible(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    """meterStart and meterStop are integers without a bound in the schema: a start or stop
    beyond any meter (10^40, 2^63, −10^30 Wh) is still answered (a CALLERROR makes the
    charger re-send it), kept with a flag, and billed up to the last plausible register."""
    await register_charger(client, "CP-1")
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        assert await charger.boot() == "Accepted"
        for meter_stop in (10**40, 2**63, -(10**30)):
            transaction_id = await charger.start_session(1, ID_TAG)
            charger.advance(STEP)
            await charger.send(charger.meter_value(1, transaction_id))  # 1.75 kWh so far
            stop = charger.stop(transaction_id, ID_TAG)
            stop.meter_stop = meter_stop
            charger.session = None
            answer = await charger.send(stop)
            assert answer.id_tag_info["status"] == "Accepted"
        start = charger.start(1, ID_TAG)
        start.meter_start = 10**40
        started = await charger.send(start)
        assert started.id_tag_info["status"] == "Accepted"
    finally:
        await charger.drop()
    newest, *ended = await transactions(client)  # newest first
    assert newest["State"] == "active" and "register_implausible" in newest["Flags"]
    assert [t["State"] for t in ended] == ["stopped"] * 3
    for tx in ended:
        assert "register_implausible" in tx["Flags"]
        order = await _order(client, tx["OrderId"])
        assert _kwh(order["ElectricQuantity"]) == Decimal("1.75")
