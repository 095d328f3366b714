"""Plans follow what was charged: meter readings shrink the plan, a met target plans
nothing, a plan past its deadline expires."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import device_path, hourly_prices, put_prices, register_device
from tests.plans.test_plan_endpoint import DAY, PRICES, get_plan, smart

READINGS = device_path() + "/meterreadings"


async def reading(
    client: httpx.AsyncClient, at: datetime, kwh: float, soc: float | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"Timestamp": at.isoformat(), "EnergyKwh": kwh}
    if soc is not None:
        body["SoC"] = soc
    response = await client.post(READINGS, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_a_charging_car_shrinks_its_plan_until_the_target_is_reached_then_expires(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await reading(client, clock - timedelta(minutes=5), 1000.0)  # the register before
    await client.post(device_path(), json=smart(level=20))  # 40 kWh x 80 % / 0.9
    need = 40 * 0.8 / 0.9
    first = await get_plan(client)
    assert first["EnergyKwh"] == pytest.approx(need, abs=1e-4)
    assert first["Trigger"] == "ChargingInformation"

    # The car charges 11 kWh during the first cheap hour.
    app.state.clock = lambda: DAY + timedelta(hours=26)
    stored = await reading(client, DAY + timedelta(hours=26), 1011.0)
    assert stored["EnergyKwh"] == 1011
    assert stored["Source"] == "api"
    shrunk = await get_plan(client)
    assert shrunk["EnergyKwh"] == pytest.approx(need - 11.0, abs=1e-4)
    assert shrunk["EnergyChargedKwh"] == 11
    assert shrunk["Trigger"] == "MeterReading"
    assert shrunk["Created"] == "2026-03-03T02:00:00Z"
    assert all(s["Start"] >= "2026-03-03T02:00:00Z" for s in shrunk["Slots"])

    # The rest arrives (a register reset in between is counted from the reset).
    app.state.clock = lambda: DAY + timedelta(hours=27)
    await reading(client, DAY + timedelta(hours=26, minutes=30), 3.0)
    await reading(client, DAY + timedelta(hours=27), 3.0 + (need - 11.0) + 0.5)
    done = await get_plan(client)
    assert done["TargetReached"] is True
    assert done["Slots"] == []
    assert done["EnergyKwh"] == 0
    assert "Target reached" in done["Reason"]

    # A new need, then the deadline passes without charging: expired, not "at once".
    app.state.clock = lambda: DAY + timedelta(hours=28)
    await client.post(device_path(), json=smart(level=60, deadline="2026-03-03T06:00:00Z"))
    assert (await get_plan(client))["EnergyKwh"] > 0
    app.state.clock = lambda: DAY + timedelta(hours=31)
    await reading(client, DAY + timedelta(hours=31), 3.0 + (need - 11.0) + 0.5)
    expired = await get_plan(client)
    assert expired["Slots"] == []
    assert expired["TargetReached"] is False
    assert "has passed" in expired["Reason"]
    assert "expired" in expired["Reason"]


async def test_a_reported_state_of_charge_replaces_the_estimate(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(device_path(), json=smart(level=20))
    app.state.clock = lambda: clock + timedelta(minutes=10)
    await reading(client, clock + timedelta(minutes=10), 50.0, soc=70)
    plan = await get_plan(client)
    assert plan["EnergyKwh"] == pytest.approx(40 * 0.3 / 0.9, abs=1e-4)
    assert plan["EnergyChargedKwh"] == 0


async def test_meter_readings_are_checked_and_idempotent(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    at = clock - timedelta(minutes=1)
    first = await reading(client, at, 5.0)
    assert (await reading(client, at, 5.0)) == first
    clash = await client.post(READINGS, json={"Timestamp": at.isoformat(), "EnergyKwh": 6})
    assert clash.status_code == 409
    assert "request.Timestamp" in clash.json()["ModelState"]
    for body, field in [
        ({"Timestamp": at.isoformat(), "EnergyKwh": -1}, "request.EnergyKwh"),
        ({"Timestamp": at.isoformat(), "EnergyKwh": 1, "SoC": 101}, "request.SoC"),
        ({"EnergyKwh": 1}, "request.Timestamp"),
        (
            {"Timestamp": (clock + timedelta(hours=1)).isoformat(), "EnergyKwh": 1},
            "request.Timestamp",
        ),
    ]:
        refused = await client.post(READINGS, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert field in refused.json()["ModelState"], refused.json()
    missing = await client.post(
        device_path(device=9) + "/meterreadings", json={"Timestamp": at.isoformat(), "EnergyKwh": 1}
    )
    assert missing.status_code == 404


async def test_record_meter_reading_is_the_store_other_sources_feed(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    """What OCPP MeterValues call: stored with its source, counted by the next replan."""
    from decimal import Decimal

    from evcharge.db import unit_of_work
    from evcharge.sites.service import record_meter_reading

    device = await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await reading(client, clock - timedelta(minutes=1), 10.0)
    await client.post(device_path(), json=smart(level=20))
    async with unit_of_work(app.state.sessions) as session:
        stored = await record_meter_reading(
            session,
            uuid.UUID(device["Id"]),
            clock + timedelta(minutes=1),
            Decimal(15),
            None,
            "ocpp",
        )
        assert stored.source == "ocpp"
    app.state.clock = lambda: clock + timedelta(minutes=2)
    await reading(client, clock + timedelta(minutes=2), 16.0)
    plan = await get_plan(client)
    assert plan["EnergyChargedKwh"] == 6
