"""Registry: idempotent PUT, GET, guarded DELETE and paged listings on the seed's paths."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.factories import device_path, register_device


async def test_put_creates_with_201_then_replaces_with_200_keeping_the_id(
    client: httpx.AsyncClient,
) -> None:
    first = await client.put("/api/customers/7", json={"Name": "Ada"})
    assert first.status_code == 201
    assert first.headers["Location"] == "/api/customers/7"
    again = await client.put("/api/customers/7", json={"Name": "Ada"})
    assert again.status_code == 200
    assert again.json()["Id"] == first.json()["Id"]
    assert again.json()["Created"] == first.json()["Created"]
    renamed = await client.put("/api/customers/7", json={"name": "Ada Lovelace"})
    assert renamed.status_code == 200
    assert (await client.get("/api/customers/7")).json()["Name"] == "Ada Lovelace"
    listing = (await client.get("/api/customers")).json()
    assert listing["TotalCount"] == 1


async def test_put_accepts_a_client_chosen_id_on_create_only(client: httpx.AsyncClient) -> None:
    chosen = str(uuid.uuid4())
    created = await client.put("/api/customers/8", json={"Name": "Bo", "Id": chosen})
    assert created.status_code == 201
    assert created.json()["Id"] == chosen
    changed = await client.put("/api/customers/8", json={"Name": "Bo", "Id": str(uuid.uuid4())})
    assert changed.status_code == 409
    assert "request.Id" in changed.json()["ModelState"]
    taken = await client.put("/api/customers/9", json={"Name": "Cy", "Id": chosen})
    assert taken.status_code == 409
    assert (await client.get("/api/customers/9")).status_code == 404


async def test_server_owned_fields_in_a_body_are_ignored(client: httpx.AsyncClient) -> None:
    created = (await client.put("/api/customers/3", json={"Name": "Di"})).json()
    replaced = await client.put(
        "/api/customers/3", json={"Name": "Di", "Created": "2000-01-01T00:00:00Z", "CustomerId": 99}
    )
    assert replaced.json()["Created"] == created["Created"]
    assert replaced.json()["CustomerId"] == 3


async def test_full_hierarchy_round_trips(client: httpx.AsyncClient) -> None:
    device = await register_device(
        client,
        1,
        2,
        3,
        4,
        max_power_kw=7.4,
        gateway_max_power_kw=17.25,
        price_area="no1",
        Description="Garage",
        ChargePointId="CP-0004",
    )
    assert device["MaxPowerKw"] == 7.4
    assert (
        device["CustomerId"],
        device["ContractNo"],
        device["GatewayAssetId"],
        device["DeviceAssetId"],
    ) == (
        1,
        2,
        3,
        4,
    )
    assert device["ChargePointId"] == "CP-0004"
    gateway = (await client.get("/api/customers/1/contracts/2/gateways/3")).json()
    assert gateway["MaxPowerKw"] == 17.25
    assert gateway["PriceArea"] == "NO1"
    contract = (await client.get("/api/customers/1/contracts/2")).json()
    assert contract["ContractNo"] == 2
    assert contract["Name"] == "Contract 2"


async def test_device_power_defaults_to_11_kw(client: httpx.AsyncClient) -> None:
    await register_device(client)
    replaced = await client.put(device_path(), json={"Name": "Wallbox"})
    assert replaced.status_code == 200
    assert replaced.json()["MaxPowerKw"] == 11


async def test_charge_point_identity_belongs_to_one_device(client: httpx.AsyncClient) -> None:
    await register_device(client, device=1, ChargePointId="CP-1")
    clash = await client.put(
        device_path(device=2), json={"Name": "Second", "ChargePointId": "CP-1"}
    )
    assert clash.status_code == 409
    assert "request.ChargePointId" in clash.json()["ModelState"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/customers/1", {}, "request.Name"),
        ("/api/customers/1", {"Name": ""}, "request.Name"),
        ("/api/customers/1", {"Name": "x", "Id": "not-a-uuid"}, "request.Id"),
        (
            "/api/customers/1/contracts/1/gateways/1",
            {"Name": "g", "MaxPowerKw": 0},
            "request.MaxPowerKw",
        ),
        (
            "/api/customers/1/contracts/1/gateways/1",
            {"Name": "g", "PriceArea": "no area!"},
            "request.PriceArea",
        ),
        (device_path(), {"Name": "d", "MaxPowerKw": -3}, "request.MaxPowerKw"),
        (device_path(), {"Name": "d", "MaxPowerKw": "fast"}, "request.MaxPowerKw"),
    ],
)
async def test_invalid_registry_bodies_give_400_naming_the_field(
    client: httpx.AsyncClient, path: str, body: dict[str, object], field: str
) -> None:
    await client.put("/api/customers/1", json={"Name": "c"})
    await client.put("/api/customers/1/contracts/1", json={})
    await client.put("/api/customers/1/contracts/1/gateways/1", json={"Name": "g"})
    before = (
        (await client.get(path)).json() if (await client.get(path)).status_code == 200 else None
    )
    response = await client.put(path, json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["ModelState"]
    after = (await client.get(path)).json() if (await client.get(path)).status_code == 200 else None
    assert after == before


async def test_put_under_a_missing_parent_is_404(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/customers/5/contracts/1/gateways/1", json={"Name": "g"})
    assert response.status_code == 404
    assert response.json() == {"Message": "No customer 5 exists."}


async def test_delete_with_children_is_409_and_removes_nothing(client: httpx.AsyncClient) -> None:
    await register_device(client)
    for path, child in [
        ("/api/customers/1", "contract"),
        ("/api/customers/1/contracts/1", "gateway"),
        ("/api/customers/1/contracts/1/gateways/1", "EV charging device"),
    ]:
        response = await client.delete(path)
        assert response.status_code == 409, path
        assert child in response.json()["Message"]
        assert (await client.get(path)).status_code == 200
    await client.post(device_path(), json={"BatteryLevel": 10})
    blocked = await client.delete(device_path())
    assert blocked.status_code == 409
    assert "charging information" in blocked.json()["Message"]


async def test_delete_from_the_leaves_up_succeeds(client: httpx.AsyncClient) -> None:
    await register_device(client)
    await client.post(device_path(), json={"BatteryLevel": 10})
    assert (await client.delete(device_path() + "/charginginformation")).status_code == 204
    for path in [
        device_path(),
        "/api/customers/1/contracts/1/gateways/1",
        "/api/customers/1/contracts/1",
        "/api/customers/1",
    ]:
        assert (await client.delete(path)).status_code == 204, path
        assert (await client.get(path)).status_code == 404
    assert (await client.delete("/api/customers/1")).status_code == 404


async def test_listings_are_paged_and_the_page_size_is_capped(client: httpx.AsyncClient) -> None:
    for number in range(1, 8):
        await client.put(f"/api/customers/{number}", json={"Name": f"c{number}"})
    page = (await client.get("/api/customers?page=2&pageSize=3")).json()
    assert [c["CustomerId"] for c in page["Items"]] == [4, 5, 6]
    assert (page["Page"], page["PageSize"], page["TotalCount"]) == (2, 3, 7)
    capped = (await client.get("/api/customers?pageSize=100000")).json()
    assert capped["PageSize"] == 100
    assert len(capped["Items"]) == 7
    for bad in ("page=0", "pageSize=-1", "page=abc", "PAGE=x"):
        response = await client.get(f"/api/customers?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["Message"] == "The request is invalid."


async def test_nested_listings_only_show_their_parent(client: httpx.AsyncClient) -> None:
    await register_device(client, 1, 1, 1, 1)
    await register_device(client, 1, 1, 1, 2)
    await register_device(client, 1, 1, 2, 3)
    devices = (await client.get("/api/customers/1/contracts/1/gateways/1/evchargingdevices")).json()
    assert [d["DeviceAssetId"] for d in devices["Items"]] == [1, 2]
    gateways = (await client.get("/api/customers/1/contracts/1/gateways")).json()
    assert [g["GatewayAssetId"] for g in gateways["Items"]] == [1, 2]
    contracts = (await client.get("/api/customers/1/contracts")).json()
    assert contracts["TotalCount"] == 1


@pytest.mark.parametrize(
    "path", ["/api/customers/abc", "/api/customers/99999999999", "/api/customers/1.5"]
)
async def test_path_numbers_outside_int32_are_400(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 400
    assert "customerId" in response.json()["ModelState"]


async def test_unknown_route_and_method_answer_in_web_api_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert "No HTTP resource was found" in missing.json()["Message"]
    wrong_method = await client.patch("/api/customers/1", json={})
    assert wrong_method.status_code == 405
    assert "Message" in wrong_method.json()
