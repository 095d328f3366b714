"""Plans become charging profiles, end to end with the simulator over real sockets: the
charger gets its plan, charges by it, its meter values shrink the plan, the profile goes
when the target is reached. Time is the simulated charger's clock, which is also the
server's (the app's injectable clock), so a night of charging takes a moment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from evcharge.ocpp.simulator.charger import Charger
from evcharge.ocpp.simulator.smart import Car, Session, drive, meter_values
from evcharge.ocpp.smart import schedule
from evcharge.ocpp.smart.reconciler import Reconciler
from evcharge.plans.context import PlanContext
from evcharge.sites.schedule import ScheduleState, tick
from tests.factories import device_path, hourly_prices, put, put_prices, register_device
from tests.ocpp.conftest import ID_TAG, PASSWORD, serving

START = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
DEADLINE = START + timedelta(hours=13)  # 07:00 the next morning
# From 18:00: dear evening, the cheapest hours from 01:00 to 05:00, dear morning.
PRICES = [0.30] * 7 + [0.04, 0.05, 0.06, 0.07] + [0.30] * 13
STEP = timedelta(minutes=15)
CONNECTOR = 1


async def smart_charger(
    client: httpx.AsyncClient,
    charge_point_id: str,
    *,
    device: int = 1,
    gateway_max_power_kw: float | None = None,
    **fields: Any,
) -> dict[str, Any]:
    found = await register_device(
        client,
        device=device,
        price_area="BE",
        gateway_max_power_kw=gateway_max_power_kw,
        ChargePointId=charge_point_id,
        Password=PASSWORD,
        **fields,
    )
    await put(client, f"/api/customers/1/idtags/{ID_TAG}", {"Status": "Accepted"})
    return found


def wish(level: float = 50, size: float = 60) -> dict[str, Any]:
    return {
        "ChargingMode": "Smart",
        "SmartModeIsActive": True,
        "NetBatterySize": size,
        "BatteryLevel": level,
        "FullyChargedBy": DEADLINE.isoformat(),
    }


async def plan_of(client: httpx.AsyncClient, device: int = 1) -> dict[str, Any]:
    path = f"/api/customers/1/contracts/1/gateways/1/evchargeplans/{device}"
    response = await client.get(path)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def charger_state(client: httpx.AsyncClient, charge_point_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/chargers/{charge_point_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def profile_of(state: Any, profile_id: int) -> dict[str, Any] | None:
    for installed in state.profiles:
        if installed["profile"]["charging_profile_id"] == profile_id:
            return dict(installed)
    return None


def as_payload(installed: dict[str, Any]) -> dict[str, Any]:
    """An installed (snake_case) profile in the shape `schedule_power_w` reads."""
    sched = installed["profile"]["charging_schedule"]
    return {
        "csChargingProfiles": {
            "chargingSchedule": {
                "startSchedule": sched["start_schedule"],
                "duration": sched.get("duration"),
                "chargingRateUnit": sched["charging_rate_unit"],
                "chargingSchedulePeriod": [
                    {
                        "startPeriod": p["start_period"],
                        "limit": p["limit"],
                        **({"numberPhases": p["number_phases"]} if "number_phases" in p else {}),
                    }
                    for p in sched["charging_schedule_period"]
                ],
            }
        }
    }


def plan_kw(plan: dict[str, Any], at: datetime) -> float:
    for s in plan["Slots"]:
        if datetime.fromisoformat(s["Start"]) <= at < datetime.fromisoformat(s["End"]):
            return float(s["PowerKw"])
    return 0.0


@pytest.fixture
async def charger(app: FastAPI, client: httpx.AsyncClient, ocpp_url: str) -> AsyncIterator[Charger]:
    """CP-1, not yet connected; its simulated clock is the server's clock."""
    simulated = Charger(ocpp_url, "CP-1", PASSWORD)
    simulated.meter.clock = START
    original = app.state.clock
    app.state.clock = lambda: simulated.meter.clock
    await put_prices(client, "BE", hourly_prices(START, PRICES))
    try:
        yield simulated
    finally:
        await simulated.drop()
        app.state.clock = original


def reconciler(app: FastAPI) -> Reconciler:
    found: Reconciler = app.state.ocpp.smart
    return found


async def settled(app: FastAPI, charge_point_id: str) -> None:
    """The server read the charger's limits at boot and sent what it had to send."""
    await app.state.ocpp.charge_points[charge_point_id].configured.wait()
    await reconciler(app).idle.wait()


async def plug_in(app: FastAPI, charger: Charger) -> int:
    """Connect, boot, start a session (the id tag is accepted): the transaction id."""
    await charger.connect()
    assert await charger.boot() == "Accepted"
    await charger.send(charger.status(CONNECTOR, "Preparing"))
    result = await charger.send(charger.start(CONNECTOR, ID_TAG))
    await charger.send(charger.status(CONNECTOR, "Charging"))
    await settled(app, charger.id)
    return int(result.transaction_id)


async def test_a_smart_car_charges_by_its_plan_and_the_profile_goes_when_the_target_is_reached(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    transaction_id = await plug_in(app, charger)
    car = Car(max_kw=11, battery_kwh=60, soc=50)
    # The register before the charging information is the baseline of "charged since".
    await charger.send(meter_values(charger.meter, CONNECTOR, transaction_id, 0, car.soc))

    response = await client.post(device_path(), json=wish(level=50))
    assert response.status_code == 201, response.text
    plan = await plan_of(client)
    assert plan["TargetReached"] is True
    assert plan["Slots"][0]["Start"] == "2026-03-03T01:00:00Z"  # the cheapest hours

    # The charger receives the plan as the running session's TxProfile.
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    await reconciler(app).idle.wait()
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    assert installed["connector_id"] == CONNECTOR
    assert installed["profile"]["charging_profile_purpose"] == "TxProfile"
    assert installed["profile"]["transaction_id"] == transaction_id
    payload = as_payload(installed)
    electrical = schedule.Electrical()
    at = START
    while at < DEADLINE:  # equal to the plan, minute by minute (W, to 1 W)
        limit = schedule.schedule_power_w(payload, at, electrical) or 0.0
        assert limit == pytest.approx(plan_kw(plan, at) * 1000, abs=1.0), at
        at += timedelta(minutes=1)
    state = await charger_state(client, "CP-1")
    [plan_profile] = [p for p in state["ChargingProfiles"] if p["Kind"] == "Plan"]
    assert plan_profile["Status"] == "Accepted" and plan_profile["Acknowledged"] is True
    assert state["SmartCharging"]["Steerable"] is True

    # The night passes: the charger obeys, reports, the schedule replans at each boundary.
    rounds = ScheduleState()
    planned: list[float] = []
    while charger.meter.clock < DEADLINE:
        power = drive(charger.smart, charger.meter, car, STEP, CONNECTOR)
        assert power <= plan_kw(plan, charger.meter.clock - STEP) * 1000 + 1.0
        await charger.send(meter_values(charger.meter, CONNECTOR, transaction_id, power, car.soc))
        await tick(app.state.sessions, PlanContext(charger.meter.clock, 0.9), rounds)
        await reconciler(app).idle.wait()
        plan = await plan_of(client)
        planned.append(plan["EnergyKwh"])
        if not plan["Slots"]:
            break
    # The plan shrank as the energy arrived, and the target was met by the deadline.
    charging = [e for e in planned if e > 0]
    assert len(charging) >= 10 and charging == sorted(charging, reverse=True)
    assert charging[0] > charging[-1]
    assert plan["TargetReached"] is True and plan["Reason"].startswith("Target reached")
    assert car.soc >= 99.9
    assert charger.meter.clock <= DEADLINE
    # ... and the plan's profile was cleared.
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is None)
    assert {"id": schedule.PLAN_PROFILE_ID} in [
        {k: v for k, v in c.items() if v is not None} for c in charger.smart.cleared
    ]
    await reconciler(app).idle.wait()
    state = await charger_state(client, "CP-1")
    [plan_profile] = [p for p in state["ChargingProfiles"] if p["Kind"] == "Plan"]
    assert plan_profile["Status"] == "Cleared" and plan_profile["Acknowledged"] is True
    # The meter values fed the planner's readings (source ocpp), as POST meterreadings does.
    readings = await app.state.engine.connect()
    try:
        from sqlalchemy import text

        sources = (await readings.execute(text("SELECT DISTINCT source FROM meter_readings"))).all()
    finally:
        await readings.close()
    assert [tuple(r) for r in sources] == [("ocpp",)]


async def test_a_charger_that_rejects_profiles_is_retried_with_back_off_and_planned_as_normal(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    charger.smart.profile_answer = "Rejected"
    await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish())).status_code == 201
    await charger.smart.wait_for(lambda: len(charger.smart.received) >= 1)
    await reconciler(app).idle.wait()

    state = await charger_state(client, "CP-1")
    [plan_profile] = [p for p in state["ChargingProfiles"] if p["Kind"] == "Plan"]
    assert plan_profile["Status"] == "Rejected"
    assert plan_profile["Acknowledged"] is False
    assert plan_profile["Attempts"] == 1
    assert plan_profile["NextAttempt"] == "2026-03-02T18:00:30Z"  # 30 s, then doubling
    assert state["SmartCharging"]["Steerable"] is False
    # The planner was told: it plans the device as Normal (full power when plugged in).
    plan = await plan_of(client)
    assert "cannot be steered" in plan["Reason"]
    assert plan["Slots"][0]["Start"] == "2026-03-02T18:00:00Z"
    assert plan["Slots"][0]["PowerKw"] == 11
    sent = len(charger.smart.received)
    # The Smart plan, then the Normal one, each as TxProfile and as TxDefaultProfile: refused.
    assert sent == 4

    # Nothing is resent before the back-off has passed ...
    reconciler(app).wake("CP-1")
    await reconciler(app).idle.wait()
    assert len(charger.smart.received) == sent
    # ... then it is, and an accepting charger is steered again (Smart).
    charger.smart.profile_answer = "Accepted"
    charger.meter.clock += timedelta(seconds=31)
    reconciler(app).wake("CP-1")
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    await reconciler(app).idle.wait()
    state = await charger_state(client, "CP-1")
    [plan_profile] = [p for p in state["ChargingProfiles"] if p["Kind"] == "Plan"]
    assert plan_profile["Status"] == "Accepted" and plan_profile["Attempts"] == 0
    assert state["SmartCharging"]["Steerable"] is True
    plan = await plan_of(client)
    assert plan["Reason"] is None or "steered" not in plan["Reason"]
    assert plan["Slots"][0]["Start"] == "2026-03-03T01:00:00Z"
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    limit = schedule.schedule_power_w(
        as_payload(installed), datetime(2026, 3, 3, 1, 30, tzinfo=UTC), schedule.Electrical()
    )
    assert limit == 11000


@pytest.mark.parametrize(
    ("units", "phases", "unit"), [("Current", 1, "A"), ("Power", 3, "W"), ("Current", 3, "A")]
)
async def test_profiles_in_amperes_or_watts_as_the_charger_and_device_are_configured(
    app: FastAPI,
    client: httpx.AsyncClient,
    charger: Charger,
    units: str,
    phases: int,
    unit: str,
) -> None:
    await smart_charger(client, "CP-1", max_power_kw=7.4, Phases=phases, Voltage=230)
    device = (await client.get(device_path())).json()
    assert device["Phases"] == phases and device["Voltage"] == 230
    charger.smart.configuration["ChargingScheduleAllowedChargingRateUnit"] = units
    charger.smart.phases = phases
    await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish(level=80))).status_code == 201
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    sched = installed["profile"]["charging_schedule"]
    assert sched["charging_rate_unit"] == unit
    powered = [p for p in sched["charging_schedule_period"] if p["limit"] > 0]
    if unit == "A":  # per phase: 7400 W / (phases x 230 V), rounded down to 0.1 A
        assert float(powered[0]["limit"]) == {1: 32.1, 3: 10.7}[phases]
        assert powered[0]["number_phases"] == phases
    else:
        assert powered[0]["limit"] == 7400
    # The simulated charger obeys it: at most the plan's power, within 0.1 A per phase.
    await reconciler(app).idle.wait()
    plan = await plan_of(client)
    charger.meter.clock = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    drawn = drive(charger.smart, charger.meter, Car(max_kw=22), timedelta(minutes=10))
    assert plan_kw(plan, charger.meter.clock) * 1000 - 0.1 * phases * 230 <= drawn
    assert drawn <= plan_kw(plan, charger.meter.clock) * 1000


async def test_too_many_periods_are_merged_and_the_charger_never_exceeds_the_plan(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    # Alternating prices: the plan is four separate cheap hours (eight periods with gaps).
    alternating = [0.30, 0.04, 0.30, 0.05, 0.30, 0.06, 0.30, 0.07] + [0.30] * 16
    await put_prices(client, "BE", hourly_prices(START, alternating))
    await smart_charger(client, "CP-1")
    charger.smart.configuration["ChargingScheduleMaxPeriods"] = "3"
    await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish(level=40, size=66))).status_code == 201
    plan = await plan_of(client)
    assert len(plan["Slots"]) == 4
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    assert len(installed["profile"]["charging_schedule"]["charging_schedule_period"]) <= 3
    car = Car(max_kw=11, soc=40, battery_kwh=66)
    for _ in range(8 * 4):  # two hours, minute by minute inside drive()
        at = charger.meter.clock
        power = drive(charger.smart, charger.meter, car, STEP)
        assert power <= max(plan_kw(plan, at + timedelta(minutes=m)) for m in range(15)) * 1000
        for minute in range(15):
            moment = at + timedelta(minutes=minute)
            assert charger.smart.limit_w(CONNECTOR, moment) <= plan_kw(plan, moment) * 1000
    state = await charger_state(client, "CP-1")
    assert state["SmartCharging"]["MaxPeriods"] == 3


async def test_a_car_that_takes_less_than_planned_is_replanned_with_what_it_takes(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    transaction_id = await plug_in(app, charger)
    car = Car(max_kw=3.7, battery_kwh=60, soc=50)  # the car limits itself
    await charger.send(meter_values(charger.meter, CONNECTOR, transaction_id, 0, car.soc))
    assert (await client.post(device_path(), json=wish(level=50))).status_code == 201
    first = await plan_of(client)
    assert {s["PowerKw"] for s in first["Slots"][:3]} == {11}
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    rounds = ScheduleState()
    while charger.meter.clock < datetime(2026, 3, 3, 1, 15, tzinfo=UTC):
        power = drive(charger.smart, charger.meter, car, STEP)
        await charger.send(meter_values(charger.meter, CONNECTOR, transaction_id, power, car.soc))
        await tick(app.state.sessions, PlanContext(charger.meter.clock, 0.9), rounds)
        await reconciler(app).idle.wait()
    # 01:00-01:15: planned 11 kW, the car took 3.7 kW. At 01:15 it is replanned with that.
    plan = await plan_of(client)
    assert plan["Trigger"] == "Schedule"
    assert plan["Created"] == "2026-03-03T01:15:00Z"
    assert "took at most 3.7 kW" in plan["Reason"]
    assert max(s["PowerKw"] for s in plan["Slots"]) <= 3.7
    assert plan["TargetReached"] is False  # 3.7 kW cannot make it by 07:00: said so
    assert plan["EndTime"] > first["EndTime"]
    # The charger's profile follows the new plan.
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    limit = schedule.schedule_power_w(
        as_payload(installed), charger.meter.clock + timedelta(minutes=5), schedule.Electrical()
    )
    assert limit == 3700


async def test_the_site_limit_holds_with_evcharge_stopped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Each charger of a gateway with a limit gets its fair share as its default profile at
    boot; with the server gone, two cars charging at once stay within the limit."""
    for number, cpid in ((1, "CP-A"), (2, "CP-B"), (3, "CP-C")):
        await smart_charger(client, cpid, device=number, gateway_max_power_kw=11)
    chargers = [Charger("", cpid, PASSWORD) for cpid in ("CP-A", "CP-B", "CP-C")]
    async with serving(app) as url:
        for simulated in chargers:
            simulated.url = url
            await simulated.connect()
            assert await simulated.boot() == "Accepted"
        for simulated in chargers:
            await settled(app, simulated.id)
            await simulated.smart.wait_for(
                lambda s=simulated: (
                    profile_of(s.smart, schedule.SITE_DEFAULT_PROFILE_ID) is not None
                )
            )
        await reconciler(app).idle.wait()
        state = await charger_state(client, "CP-A")
        [default] = [p for p in state["ChargingProfiles"] if p["Kind"] == "SiteDefault"]
        assert default["Status"] == "Accepted"
    # evcharge is stopped (the server is gone); the chargers go on by themselves.
    for simulated in chargers:
        await simulated.drop()
    cars = [Car(max_kw=11, soc=20), Car(max_kw=11, soc=30), Car(max_kw=11, soc=90)]
    for number, simulated in enumerate(chargers):
        simulated.smart.session = Session(CONNECTOR, 1000 + number, simulated.meter.clock)
    for _ in range(8):
        powers = [drive(s.smart, s.meter, car, STEP) for s, car in zip(chargers, cars, strict=True)]
        assert sum(powers) <= 11_000
    assert all(p == pytest.approx(11_000 / 3, abs=1) for p in powers[:2])
    installed = profile_of(chargers[0].smart, schedule.SITE_DEFAULT_PROFILE_ID)
    assert installed is not None
    assert installed["profile"]["stack_level"] == 0
    assert installed["profile"]["charging_profile_purpose"] == "TxDefaultProfile"


async def test_a_tx_profile_the_charger_refuses_is_installed_as_its_default_instead(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    """The server thinks a session runs that the charger has ended without saying so."""
    await smart_charger(client, "CP-1")
    await plug_in(app, charger)
    charger.smart.session = None  # the charger forgot it (a reboot it did not report)
    assert (await client.post(device_path(), json=wish())).status_code == 201
    await charger.smart.wait_for(lambda: profile_of(charger.smart, 9101) is not None)
    await reconciler(app).idle.wait()
    installed = profile_of(charger.smart, schedule.PLAN_PROFILE_ID)
    assert installed is not None
    assert installed["profile"]["charging_profile_purpose"] == "TxDefaultProfile"
    state = await charger_state(client, "CP-1")
    [plan_profile] = [p for p in state["ChargingProfiles"] if p["Kind"] == "Plan"]
    assert plan_profile["Status"] == "Accepted"
    assert plan_profile["Error"] == "TxProfile refused; the plan is installed as TxDefaultProfile."
    assert state["SmartCharging"]["Steerable"] is True


async def test_a_charger_without_smart_charging_is_not_steerable(
    app: FastAPI, client: httpx.AsyncClient, charger: Charger
) -> None:
    await smart_charger(client, "CP-1")
    charger.smart.profile_answer = "NotImplemented"  # answers with a CALLERROR
    await plug_in(app, charger)
    assert (await client.post(device_path(), json=wish())).status_code == 201
    await charger.smart.wait_for(lambda: len(charger.smart.received) >= 2)
    await reconciler(app).idle.wait()
    state = await charger_state(client, "CP-1")
    [plan_profile] = [p for p in state["ChargingProfiles"] if p["Kind"] == "Plan"]
    assert plan_profile["Status"] == "NotSupported"
    assert plan_profile["Error"].startswith("NotImplementedError")
    assert state["SmartCharging"]["Steerable"] is False
    assert "cannot be steered" in (await plan_of(client))["Reason"]
