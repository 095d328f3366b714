"""Smart charging around the edges: a reconnect sends the profiles again, a change made
in another process is found by the poll, meter values outside a session still reach the
planner, the simulator's configuration and composite schedule, the console's page."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from ocpp.v16 import call
from sqlalchemy import select

from evcharge.db import unit_of_work
from evcharge.ocpp.simulator.charger import Charger
from evcharge.ocpp.simulator.smart import meter_values
from evcharge.ocpp.smart import schedule, wanted
from evcharge.ocpp.smart.models import PLAN
from evcharge.sites.models import MeterReading
from tests.console.test_console import admin_browser
from tests.factories import device_path
from tests.ocpp.conftest import ID_TAG
from tests.ocpp.test_smart_charging import (
    CONNECTOR,
    START,
    charger,
    plan_of,
    plug_in,
    profile_of,
    reconciler,
    settled,
    smart_charger,
    wish,
)

__all__ = ["admin_browser", "charger"]  # fixtures


async def test_a_charger_that_reconnects_gets_its_profiles_again(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1", gateway_max_power_kw=22)
    transaction_id = await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish())).status_code == 201
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    await reconciler(app).idle.wait()
    # The charger loses its connection and its profiles (its session goes on).
    await charger.drop()
    charger.smart.profiles.clear()
    await charger.connect()
    assert await charger.boot() == "Accepted"
    await settled(app, "CP-1")
    default = profile_of(charger.smart, schedule.SITE_DEFAULT_PROFILE_ID)
    plan = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert default is not None and plan is not None
    assert plan["profile"]["charging_profile_purpose"] == "TxProfile"
    assert plan["profile"]["transaction_id"] == transaction_id
    # 22 kW shared by one charger of 11 kW: its share is its own maximum.
    [period] = default["profile"]["charging_schedule"]["charging_schedule_period"]
    assert float(period["limit"]) == 11000
    # The session ends (its TxProfile with it): the plan is the next session's default.
    await charger.send(charger.stop(transaction_id, ID_TAG))
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    await reconciler(app).idle.wait()
    plan = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert plan is not None and plan["connector_id"] == 0
    assert plan["profile"]["charging_profile_purpose"] == "TxDefaultProfile"


async def test_a_plan_changed_while_the_charger_was_away_reaches_it_when_it_reconnects(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish(level=50))).status_code == 201
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    await reconciler(app).idle.wait()
    before = len(charger.smart.received)
    await charger.drop()
    # Away: the driver wants less; the new plan waits for the charger.
    assert (await client.post(device_path(), json=wish(level=90))).status_code == 201
    await reconciler(app).idle.wait()
    assert len(charger.smart.received) == before
    # It reconnects without rebooting (a Heartbeat first): what changed is sent, only that.
    await charger.connect()
    await charger.send(call.Heartbeat())
    await settled(app, "CP-1")
    assert len(charger.smart.received) == before + 1
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    plan = await plan_of(client)
    assert plan["EnergyKwh"] == pytest.approx(60 * 0.1 / 0.9, abs=1e-3)
    periods = installed["profile"]["charging_schedule"]["charging_schedule_period"]
    # 6.67 kWh at 11 kW from 01:00: 36 min 21.8 s (its end rounded down), then nothing.
    assert [p["start_period"] for p in periods] == [0, 7 * 3600]
    assert installed["profile"]["charging_schedule"]["duration"] == 7 * 3600 + 2181


async def test_a_change_made_by_another_process_is_found_by_the_poll(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    await plug_in(app, charger)
    change = {"periods": [[START.isoformat(), "2026-03-02T19:00:00+00:00", 4.2]]}
    async with unit_of_work(app.state.sessions) as session:
        assert await wanted.set_wanted(session, "CP-1", PLAN, change, START)
        # Written elsewhere: no process of this host is told after the commit.
        session.sync_session.info.pop(wanted.WAKE_KEY)
    assert await reconciler(app).due() == {"CP-1"}
    # The holding process's poll (every EVCHARGE_OCPP_PROFILE_POLL_SECONDS) sends it.
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    assert charger.smart.limit_w(CONNECTOR, START) == 4200
    await reconciler(app).idle.wait()
    assert await reconciler(app).due() == set()


async def test_meter_values_outside_a_session_are_readings_for_the_planner(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    await charger.connect()
    assert await charger.boot() == "Accepted"
    charger.meter.wh = 1_234_500
    await charger.send(meter_values(charger.meter, CONNECTOR, None, 0, 42.5))
    async with unit_of_work(app.state.sessions) as session:
        [reading] = list(await session.scalars(select(MeterReading)))
    assert reading.energy_kwh == pytest.approx(1234.5)
    assert reading.soc == pytest.approx(42.5)
    assert reading.source == "ocpp" and reading.timestamp == START
    # The same sample again is kept once (a charger that re-sends is not refused).
    await charger.send(meter_values(charger.meter, CONNECTOR, None, 0, 42.5))
    async with unit_of_work(app.state.sessions) as session:
        assert len(list(await session.scalars(select(MeterReading)))) == 1
    # A session's stop is a reading too: its register when the car was unplugged.
    started = await charger.send(charger.start(CONNECTOR, ID_TAG))
    charger.advance(timedelta(minutes=30), power_w=7000)
    await charger.send(charger.stop(int(started.transaction_id), ID_TAG))
    async with unit_of_work(app.state.sessions) as session:
        last = await session.scalar(
            select(MeterReading).order_by(MeterReading.timestamp.desc()).limit(1)
        )
    assert last is not None and last.energy_kwh == pytest.approx(1238.0)
    assert last.timestamp == START + timedelta(minutes=30)


async def test_the_simulator_keeps_its_configuration_and_answers_the_composite_schedule(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish())).status_code == 201
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    await reconciler(app).idle.wait()
    central = app.state.ocpp.charge_points["CP-1"]
    changed = await central.call(
        call.ChangeConfiguration(key="MeterValueSampleInterval", value="30")
    )
    assert changed.status == "Accepted"
    assert charger.smart.configuration["MeterValueSampleInterval"] == "30"
    refused = await central.call(
        call.ChangeConfiguration(key="ChargingScheduleMaxPeriods", value="1000")
    )
    assert refused.status == "Rejected"  # read-only
    unknown = await central.call(call.ChangeConfiguration(key="Nope", value="1"))
    assert unknown.status == "NotSupported"
    read = await central.call(call.GetConfiguration(key=["MeterValueSampleInterval", "Nope"]))
    assert read.configuration_key == [
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "30"}
    ]
    assert read.unknown_key == ["Nope"]
    # The composite schedule is the plan: nothing before 01:00, 11 kW from then.
    composite = await central.call(
        call.GetCompositeSchedule(connector_id=CONNECTOR, duration=9 * 3600, charging_rate_unit="W")
    )
    assert composite.status == "Accepted"
    periods = composite.charging_schedule["charging_schedule_period"]
    assert periods[0] == {"start_period": 0, "limit": 0}
    assert periods[1] == {"start_period": 7 * 3600, "limit": 11000}
    plan = await plan_of(client)
    assert plan["Slots"][0]["Start"] == "2026-03-03T01:00:00Z"


async def test_the_console_shows_a_refused_profile_on_the_charger_page(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger, admin_browser: httpx.AsyncClient
) -> None:
    await smart_charger(client, "CP-1")
    charger.smart.profile_answer = "NotSupported"
    await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish())).status_code == 201
    await charger.smart.wait_for(lambda: len(charger.smart.received) >= 1)
    await reconciler(app).idle.wait()
    page = await admin_browser.get("/ui/chargers/CP-1")
    assert page.status_code == 200
    assert "Charging profiles" in page.text
    assert '<span class="badge bad">NotSupported</span>' in page.text
    assert "planned as Normal (not steerable)" in page.text
    assert "at most 48 periods" in page.text


async def test_a_device_has_phases_and_voltage_within_bounds(client: httpx.AsyncClient) -> None:
    found = await smart_charger(client, "CP-1")
    assert found["Phases"] == 3 and found["Voltage"] == 230
    refused = await client.put(device_path(), json={"Name": "Device 1", "Phases": 4})
    assert refused.status_code == 400
    assert "request.Phases" in refused.json()["ModelState"]
    refused = await client.put(device_path(), json={"Name": "Device 1", "Voltage": 20})
    assert refused.status_code == 400
    assert "request.Voltage" in refused.json()["ModelState"]
