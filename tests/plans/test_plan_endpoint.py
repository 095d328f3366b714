"""Plans over HTTP: computed when inputs change, stored, read back from the original's path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import SEED_SAMPLE, device_path, hourly_prices, put_prices, register_device

DAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
# 48 hourly prices: dear in the evening (0.40), cheap 01:00–05:00 (0.05), 0.20 otherwise.
PRICES = [
    0.05 if h % 24 in (1, 2, 3, 4) else 0.40 if h % 24 in (17, 18, 19, 20) else 0.20
    for h in range(48)
]


def plan_path(customer: int = 1, contract: int = 1, gateway: int = 1, device: int = 1) -> str:
    return device_path(customer, contract, gateway, device).replace(
        "/evchargingdevices/", "/evchargeplans/"
    )


async def get_plan(client: httpx.AsyncClient, path: str = plan_path()) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    plan: dict[str, Any] = response.json()
    return plan


def smart(
    level: float = 20, deadline: str = "2026-03-03T07:00:00Z", net: float = 40
) -> dict[str, Any]:
    return {
        "ChargingMode": "Smart",
        "SmartModeIsActive": True,
        "NetBatterySize": net,
        "BatteryLevel": level,
        "FullyChargedBy": deadline,
    }


async def test_seed_sample_yields_a_plan_read_back_from_the_plan_endpoint(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, 1, 6, 7, 8, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    posted = await client.post(
        device_path(1, 6, 7, 8), content=SEED_SAMPLE, headers={"Content-Type": "text/json"}
    )
    assert posted.status_code == 201
    plan = await get_plan(client, plan_path(1, 6, 7, 8))
    energy = 1.1 * (100 - 1.1) / 100 / 0.9  # Normal mode: at once, at full power
    assert plan["EnergyKwh"] == pytest.approx(energy, abs=1e-5)
    assert plan["TargetReached"] is True
    assert plan["StartTime"] == "2026-03-02T17:30:00Z"
    assert plan["Slots"][0]["PowerKw"] == 11
    assert plan["EstimatedCost"] == pytest.approx(energy * 0.40, abs=1e-5)
    assert plan["CostIfImmediate"] == plan["EstimatedCost"]
    assert plan["Created"] == "2026-03-02T17:30:00Z"
    assert plan["Currency"] == "EUR"


async def test_smart_plan_charges_in_the_cheapest_hours_before_the_deadline(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(device_path(), json=smart())
    plan = await get_plan(client)
    energy = 40 * 0.8 / 0.9
    assert plan["TargetReached"] is True
    assert plan["Reason"] is None
    assert sum(s["EnergyKwh"] for s in plan["Slots"]) == pytest.approx(energy, abs=1e-4)
    assert {s["Start"][11:13] for s in plan["Slots"]} <= {"01", "02", "03", "04"}
    assert all(s["PowerKw"] <= 11 for s in plan["Slots"])
    assert plan["EstimatedCost"] == pytest.approx(energy * 0.05, abs=1e-4)
    assert plan["CostIfImmediate"] > plan["EstimatedCost"]
    assert plan["TotalChargeTime"].startswith("03:")


async def test_reading_a_plan_does_not_recompute_it(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(device_path(), json=smart())
    first = await get_plan(client)
    app.state.clock = lambda: clock + timedelta(hours=2)
    assert await get_plan(client) == first


async def test_plans_are_recomputed_when_their_inputs_change(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(device_path(), json=smart())
    before = await get_plan(client)

    await client.put(device_path(), json={"Name": "Slower", "MaxPowerKw": 3.7})
    slower = await get_plan(client)
    assert max(s["PowerKw"] for s in slower["Slots"]) == 3.7

    await client.put(
        "/api/customers/1/contracts/1/gateways/1",
        json={"Name": "g", "PriceArea": "BE", "MaxPowerKw": 2},
    )
    limited = await get_plan(client)
    assert max(s["PowerKw"] for s in limited["Slots"]) == 2

    await put_prices(client, "BE", hourly_prices(DAY, [p * 2 for p in PRICES]))
    dearer = await get_plan(client)
    assert dearer["EstimatedCost"] == pytest.approx(limited["EstimatedCost"] * 2, rel=1e-6)

    app.state.clock = lambda: clock + timedelta(minutes=5)
    await client.post(device_path(), json=smart(level=90))
    fuller = await get_plan(client)
    assert fuller["EnergyKwh"] < before["EnergyKwh"]
    assert fuller["Created"] == "2026-03-02T17:35:00Z"


async def test_devices_of_a_gateway_share_its_limit(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, device=1, price_area="BE", gateway_max_power_kw=11)
    await register_device(client, device=2)
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(device_path(device=1), json=smart(level=20))
    await client.post(device_path(device=2), json=smart(level=50))
    power: dict[str, float] = {}
    for device in (1, 2):
        plan = await get_plan(client, plan_path(device=device))
        assert plan["TargetReached"] is True
        for s in plan["Slots"]:
            power[s["Start"]] = power.get(s["Start"], 0) + s["PowerKw"]
    assert max(power.values()) <= 11 + 1e-6


async def test_an_unreachable_deadline_charges_at_once_and_says_what_is_missing(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(device_path(), json=smart(deadline="2026-03-02T18:30:00Z"))
    plan = await get_plan(client)
    assert plan["TargetReached"] is False
    assert "kWh" in plan["Reason"]
    assert plan["StartTime"] == "2026-03-02T17:30:00Z"


async def test_off_plans_nothing(client: httpx.AsyncClient, clock: datetime) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(
        device_path(), json={"ChargingMode": "Off", "NetBatterySize": 40, "BatteryLevel": 10}
    )
    plan = await get_plan(client)
    assert plan["Slots"] == []
    assert plan["EnergyKwh"] == 0


async def test_missing_battery_data_gives_a_plan_that_says_so(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await client.post(device_path(), json={"ChargingMode": "Smart", "SmartModeIsActive": True})
    plan = await get_plan(client)
    assert plan["TargetReached"] is False
    assert "BatteryLevel" in plan["Reason"]


async def test_no_plan_before_charging_information_and_none_after_clearing_it(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    missing = await client.get(plan_path())
    assert missing.status_code == 404
    assert "charging information" in missing.json()["Message"]
    await client.post(device_path(), json=smart())
    assert (await client.get(plan_path())).status_code == 200
    assert (await client.delete(device_path() + "/charginginformation")).status_code == 204
    assert (await client.get(plan_path())).status_code == 404
    assert (await client.delete(device_path())).status_code == 204


async def test_a_car_plugged_in_before_the_first_known_price_charges_at_once(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    """Prices published from the next full hour: the minutes before are planned (price
    unknown: `Price` null, not in the cost), not skipped."""
    await register_device(client, price_area="BE")
    later = DAY + timedelta(hours=18)  # the clock stands at 17:30
    await put_prices(client, "BE", hourly_prices(later, PRICES[18:30]))
    posted = await client.post(device_path(), json={**smart(), "ChargingMode": "Normal"})
    assert posted.status_code == 201, posted.text
    plan = await get_plan(client)
    first = plan["Slots"][0]
    assert plan["StartTime"] == "2026-03-02T17:30:00Z"
    assert first["Price"] is None and first["Start"] == "2026-03-02T17:30:00Z"
    assert first["EnergyKwh"] == pytest.approx(5.5)
    assert all(s["Price"] is not None for s in plan["Slots"][1:])
    priced = sum(s["EnergyKwh"] * s["Price"] for s in plan["Slots"][1:])
    assert plan["EstimatedCost"] == pytest.approx(priced, abs=1e-5)
    assert "before the first known price" in plan["Reason"]
