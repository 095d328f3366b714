"""eSmart's partial update: PATCH …/smartcharge/{deviceAssetId} (JSON merge-patch)."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.factories import device_path, hourly_prices, put_prices, register_device
from tests.plans.test_plan_endpoint import DAY, PRICES, get_plan, smart

SMARTCHARGE = "/api/customers/1/contracts/1/gateways/1/smartcharge/1"


async def test_patch_changes_only_the_fields_sent_as_a_new_version_and_replans(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    first = (await client.post(device_path(), json={**smart(level=20), "CarModel": "e-Up"})).json()
    before = await get_plan(client)
    response = await client.patch(
        SMARTCHARGE,
        json={"batterylevel": 60, "CarModel": None},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["Version"] == first["Version"] + 1
    assert patched["BatteryLevel"] == 60
    assert patched["CarModel"] is None
    assert patched["NetBatterySize"] == first["NetBatterySize"]
    assert patched["FullyChargedBy"] == first["FullyChargedBy"]
    assert patched["ChargingMode"] == 1
    after = await get_plan(client)
    assert after["EnergyKwh"] < before["EnergyKwh"]
    current = (await client.get(device_path())).json()["EvChargingInfo"]
    assert current["Id"] == patched["Id"]


async def test_patch_binds_like_the_seed_endpoint_and_needs_charging_information(
    client: httpx.AsyncClient, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    missing = await client.patch(SMARTCHARGE, json={"BatteryLevel": 50})
    assert missing.status_code == 404
    assert "POST it first" in missing.json()["Message"]
    await client.post(device_path(), json=smart(level=20))
    for body, field in [
        ({"BatteryLevel": 101}, "request.BatteryLevel"),
        ({"DeviceAssetId": 2}, "request.DeviceAssetId"),
        ({"NetBatterySize": 90, "GrossBatterySize": 80}, "request.NetBatterySize"),
        ({"ChargingMode": "Sometimes"}, "request.ChargingMode"),
    ]:
        refused = await client.patch(SMARTCHARGE, json=body)
        assert refused.status_code == 400, refused.text
        assert field in refused.json()["ModelState"], refused.json()
    xml = await client.patch(
        SMARTCHARGE, content=b"<x/>", headers={"Content-Type": "application/xml"}
    )
    assert xml.status_code == 415
    other = await client.patch(SMARTCHARGE.replace("smartcharge/1", "smartcharge/7"), json={})
    assert other.status_code == 404
