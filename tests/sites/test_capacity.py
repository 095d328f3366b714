"""A site limit that varies: capacity slots per gateway, MaxPowerKw elsewhere; Normal
devices take capacity first; any number of devices per gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from evcharge.plans.models import ChargePlan
from evcharge.registry.models import ChargingDevice
from tests.factories import device_path, hourly_prices, put_prices, register_device
from tests.plans.test_plan_endpoint import DAY, PRICES, get_plan, plan_path, smart

GATEWAY = "/api/customers/1/contracts/1/gateways/1"
CAPACITY = GATEWAY + "/capacity"


def slot(start_h: float, end_h: float, kw: float) -> dict[str, Any]:
    return {
        "Start": (DAY + timedelta(hours=start_h)).isoformat(),
        "End": (DAY + timedelta(hours=end_h)).isoformat(),
        "PowerKw": kw,
    }


def power_by_moment(plans: list[dict[str, Any]]) -> dict[str, float]:
    """Total planned power at every slot start of every plan."""
    moments = {s["Start"] for p in plans for s in p["Slots"]}
    return {
        m: sum(s["PowerKw"] for p in plans for s in p["Slots"] if s["Start"] <= m < s["End"])
        for m in moments
    }


async def test_capacity_slots_limit_the_site_and_normal_devices_go_first(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, device=1, price_area="BE", gateway_max_power_kw=11)
    await register_device(client, device=2)
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    # Base load: only 4 kW left in the evening, 6 kW in the cheap night hours.
    stored = await client.put(CAPACITY, json={"Slots": [slot(17.5, 22, 4), slot(25, 29, 6)]})
    assert stored.status_code == 200, stored.text
    assert stored.json()["PlansUpdated"] == 0
    await client.post(
        device_path(device=1),
        json={"ChargingMode": "Normal", "NetBatterySize": 10, "BatteryLevel": 50},
    )
    await client.post(device_path(device=2), json=smart(level=20))
    normal = await get_plan(client, plan_path(device=1))
    smart_plan = await get_plan(client, plan_path(device=2))
    assert normal["TargetReached"] is True
    assert normal["Slots"][0]["Start"] == "2026-03-02T17:30:00Z"
    assert normal["Slots"][0]["PowerKw"] == pytest.approx(4)  # first, at all there is
    assert smart_plan["TargetReached"] is True
    assert smart_plan["Trigger"] == "ChargingInformation"
    limits = {"17": 4.0, "18": 4.0, "19": 4.0, "20": 4.0, "21": 4.0}
    limits |= {"01": 6.0, "02": 6.0, "03": 6.0, "04": 6.0}
    for moment, kw in power_by_moment([normal, smart_plan]).items():
        assert kw <= limits.get(moment[11:13], 11.0) + 1e-6, moment

    read = await client.get(CAPACITY, params={"from": "2026-03-02T00:00:00Z"})
    assert read.status_code == 200
    body = read.json()
    assert body["MaxPowerKw"] == 11
    assert [s["PowerKw"] for s in body["Slots"]] == [4, 6]
    assert body["Slots"][0]["Start"] == "2026-03-02T17:30:00Z"

    # Replacing a range cuts what it overlaps; the plans follow.
    again = await client.put(CAPACITY, json={"Slots": [slot(26, 27, 0)]})
    assert again.json()["PlansUpdated"] == 2
    slots = (await client.get(CAPACITY, params={"from": "2026-03-02T00:00:00Z"})).json()["Slots"]
    assert [(s["Start"][11:16], s["End"][11:16], s["PowerKw"]) for s in slots] == [
        ("17:30", "22:00", 4),
        ("01:00", "02:00", 6),
        ("02:00", "03:00", 0),
        ("03:00", "05:00", 6),
    ]
    replanned = await get_plan(client, plan_path(device=2))
    assert replanned["Trigger"] == "Capacity"
    assert not any(s["Start"].startswith("2026-03-03T02") for s in replanned["Slots"])
    assert (await client.delete(CAPACITY)).status_code == 204
    assert (await client.get(CAPACITY)).json()["Slots"] == []


async def test_no_capacity_says_so_and_bad_schedules_name_the_slot(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.put(CAPACITY, json={"Slots": [slot(0, 48, 0)]})
    await client.post(device_path(), json=smart(level=20))
    plan = await get_plan(client)
    assert plan["Slots"] == []
    assert "0 kW" in plan["Reason"]
    assert "Prices" not in plan["Reason"]
    for body, field in [
        ({"Slots": [slot(2, 1, 5)]}, "request.Slots[0]"),
        ({"Slots": [slot(1, 3, 5), slot(2, 4, 5)]}, "request.Slots[1]"),
        ({"Slots": [slot(1, 2, -1)]}, "request.Slots[0].PowerKw"),
        ({"Slots": []}, "request.Slots"),
    ]:
        refused = await client.put(CAPACITY, json=body)
        assert refused.status_code == 400, refused.text
        assert field in refused.json()["ModelState"], refused.json()
    assert (await client.put(GATEWAY.replace("/1/gateways", "/9/gateways") + "/capacity",
                             json={"Slots": [slot(1, 2, 1)]})).status_code == 404  # fmt: skip


@pytest.mark.scale
async def test_a_gateway_with_1000_devices_is_registered_and_planned_over_http(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    count = 1000
    # PostgreSQL takes concurrent writers (each request still one unit of work); SQLite
    # serialises them anyway, so requests go one by one there.
    batch = 1 if app.state.settings.is_sqlite else 8

    async def each(requests: list[Any]) -> list[httpx.Response]:
        done: list[httpx.Response] = []
        for first in range(0, len(requests), batch):
            done += await asyncio.gather(*requests[first : first + batch])
        return done

    await register_device(client, device=1, price_area="BE")
    registered = await each(
        [
            client.put(device_path(device=d), json={"Name": f"Bay {d}", "MaxPowerKw": 11})
            for d in range(2, count + 1)
        ]
    )
    assert {r.status_code for r in registered} == {201}
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    posted = await each(
        [
            client.post(
                device_path(device=d),
                json=smart(
                    level=20 + d % 60,
                    deadline=(DAY + timedelta(hours=29 + d % 8)).isoformat(),  # 05:00-12:00
                    net=40,
                ),
            )
            for d in range(1, count + 1)
        ]
    )
    assert {r.status_code for r in posted} == {201}
    # The depot's connection becomes limited: one replan of all 1,000 cars together.
    response = await client.put(
        GATEWAY, json={"Name": "Depot", "PriceArea": "BE", "MaxPowerKw": 2500}
    )
    assert response.status_code == 200
    async with app.state.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(ChargePlan).join(
                        ChargingDevice, ChargingDevice.id == ChargePlan.device_id
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == count
    assert all(r.trigger == "Gateway" for r in rows)
    total: dict[str, float] = defaultdict(float)
    for r in rows:
        for s in r.slots:
            total[s["start"]] += s["power_kw"]
    # Powers are stored with 6 decimals: 1,000 of them may round up by 5e-7 kW each.
    assert max(total.values()) <= 2500 + count * 5e-7
    assert max(total.values()) > 2400  # the limit binds in the cheap hours
    short = [r for r in rows if not r.target_reached]
    assert all("missing" in (r.reason or "") for r in short)
    one = await get_plan(client, plan_path(device=500))
    assert one["Trigger"] == "Gateway"
    assert uuid.UUID((await client.get(device_path(device=500))).json()["Id"])
