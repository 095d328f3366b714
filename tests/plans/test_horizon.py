"""The 8-day price horizon holds for every gateway of an area (review of issue 10)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from tests.factories import device_path, hourly_prices, put_prices, register_device
from tests.plans.test_plan_endpoint import DAY, get_plan, plan_path, smart


async def test_no_gateway_of_an_area_plans_beyond_eight_days(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, gateway=1, price_area="BE")
    await register_device(client, gateway=2, price_area="BE")
    # Eleven days of prices, the cheapest hours on days 9 and 10.
    prices = [0.30] * (24 * 11)
    for hour in range(24 * 9, 24 * 10):
        prices[hour] = 0.01
    await put_prices(client, "BE", hourly_prices(DAY, prices))
    far = (DAY + timedelta(days=10, hours=12)).isoformat()
    for gateway in (1, 2):
        await client.post(device_path(gateway=gateway), json=smart(level=20, deadline=far))
    limit = (clock + timedelta(days=8)).isoformat().replace("+00:00", "Z")
    for gateway in (1, 2):
        plan = await get_plan(client, plan_path(gateway=gateway))
        assert plan["Slots"], plan
        assert all(s["End"] <= limit for s in plan["Slots"]), plan["Slots"][-1]
        assert "not known" in plan["Reason"]
