"""The WebSocket endpoint: refusals before the upgrade, subprotocol, replacement, frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from evcharge.ocpp.simulator.charger import Charger, basic_auth
from tests.ocpp.conftest import PASSWORD, register_charger


async def _refusal(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=headers)
    response = refused.value.response
    return response.status_code, {k.lower(): v for k, v in response.headers.raw_items()}


async def test_unknown_identity_is_404_before_the_upgrade_whatever_the_credentials(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    for headers in ({}, {"Authorization": basic_auth("CP-404", PASSWORD)}):
        status, _ = await _refusal(f"{ocpp_url}/CP-404", headers)
        assert status == 404


async def test_missing_or_wrong_credentials_are_401_before_the_upgrade(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    url = f"{ocpp_url}/CP-1"
    for headers in (
        {},
        {"Authorization": basic_auth("CP-1", "wrong-password-0000")},
        {"Authorization": basic_auth("CP-2", PASSWORD)},  # user must be the ChargePointId
        {"Authorization": "Basic not-base64!"},
        {"Authorization": f"Bearer {PASSWORD}"},
    ):
        status, sent = await _refusal(url, headers)
        assert status == 401, headers
        assert sent["www-authenticate"].startswith("Basic")


async def test_charger_without_a_password_is_refused(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1", password=None)
    status, _ = await _refusal(f"{ocpp_url}/CP-1", {"Authorization": basic_auth("CP-1", PASSWORD)})
    assert status == 401


async def test_password_is_write_only_and_checked(client: httpx.AsyncClient) -> None:
    device = await register_charger(client, "CP-1")
    assert "Password" not in device
    path = "/api/customers/1/contracts/1/gateways/1/evchargingdevices/1"
    assert "Password" not in (await client.get(path)).json()
    response = await client.put(
        path, json={"Name": "d", "ChargePointId": "CP-1", "Password": "short"}
    )
    assert response.status_code == 400
    assert any("Password" in field for field in response.json()["ModelState"])


async def test_no_agreed_subprotocol_completes_the_handshake_then_closes(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    headers = {"Authorization": basic_auth("CP-1", PASSWORD)}
    async with websockets.connect(
        f"{ocpp_url}/CP-1", subprotocols=["ocpp2.0.1"], additional_headers=headers
    ) as socket:
        assert socket.subprotocol is None
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


async def test_second_connection_of_the_same_identity_replaces_the_first(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    first, second = Charger(ocpp_url, "CP-1", PASSWORD), Charger(ocpp_url, "CP-1", PASSWORD)
    await first.connect()
    await first.boot()
    await second.connect()
    try:
        await asyncio.wait_for(first.socket.wait_closed(), 5)
        assert await second.boot() == "Accepted"
        [item] = (await client.get("/api/chargers")).json()["Items"]
        assert item["Connected"] is True
    finally:
        await first.drop()
        await second.drop()
    for _ in range(100):  # the server notices the close and records it
        [item] = (await client.get("/api/chargers")).json()["Items"]
        if not item["Connected"]:
            break
        await asyncio.sleep(0.02)
    assert item["Connected"] is False


async def test_disabled_charger_boot_is_rejected(
    client: httpx.AsyncClient, app: Any, ocpp_url: str
) -> None:
    device = await register_charger(client, "CP-1")
    from evcharge.db import unit_of_work
    from evcharge.ocpp import service

    async with unit_of_work(app.state.sessions) as session:
        await service.set_enabled(session, __import__("uuid").UUID(device["Id"]), False)
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        assert await charger.boot() == "Rejected"
    finally:
        await charger.drop()


async def test_new_connections_wait_outside_while_the_chargers_work_queues(
    client: httpx.AsyncClient, app: Any, ocpp_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reconnect storm: while the chargers' database work waits longer than
    EVCHARGE_OCPP_ADMIT_WAIT_SECONDS, a new connection is a 503 with Retry-After before
    the upgrade (no work done for it); once the queue is short, chargers connect."""
    await register_charger(client, "CP-1")
    central = app.state.ocpp
    settings = central.settings.model_copy(update={"ocpp_admit_wait_seconds": 0.2})
    monkeypatch.setattr(central, "settings", settings)
    release = asyncio.Event()

    async def hold(_session: Any, _now: Any) -> None:
        await release.wait()

    busy = [asyncio.create_task(central.in_unit(hold)) for _ in range(central.gate_size + 1)]
    try:
        await asyncio.sleep(0.4)  # the last one has waited longer than 0.2 s
        status, sent = await _refusal(
            f"{ocpp_url}/CP-1", {"Authorization": basic_auth("CP-1", PASSWORD)}
        )
        assert status == 503
        assert 10 <= int(sent["retry-after"]) <= 60
    finally:
        release.set()
        await asyncio.gather(*busy)
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    try:
        assert await charger.boot() == "Accepted"
    finally:
        await charger.drop()


async def _raw(url: str) -> Any:
    return await websockets.connect(
        f"{url}/CP-1",
        subprotocols=["ocpp1.6"],
        additional_headers={"Authorization": basic_auth("CP-1", PASSWORD)},
    )


async def _exchange(socket: Any, frame: str) -> list[Any]:
    await socket.send(frame)
    answer: list[Any] = json.loads(await asyncio.wait_for(socket.recv(), 5))
    return answer


async def test_malformed_frames_get_callerrors_and_the_socket_stays_open(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    socket = await _raw(ocpp_url)
    try:
        cases = [
            ("not json at all", "-1", "FormationViolation"),
            ('[2, "m1", "Heartbeat"]', "m1", "FormationViolation"),
            ('{"a": 1}', "-1", "FormationViolation"),
            ('[2, "m2", 7, {}]', "m2", "FormationViolation"),
            ('[2, "m3", "Heartbeat", []]', "m3", "FormationViolation"),
            ('[2, "m4", "NoSuchAction", {}]', "m4", "NotSupported"),
            ('[2, "m5", "DataTransfer", {"vendorId": "x"}]', "m5", "NotImplemented"),
            ('[2, "m6", "Authorize", {}]', "m6", "ProtocolError"),
            ('[2, "m7", "Authorize", {"idTag": 5}]', "m7", "TypeConstraintViolation"),
            ('[2, "m8", "Heartbeat", {"extra": 1}]', "m8", "FormationViolation"),
            (
                '[2, "m9", "StatusNotification", {"connectorId": 1, "errorCode": "NoError",'
                ' "status": "Dancing"}]',
                "m9",
                "FormationViolation",
            ),
        ]
        for frame, message_id, code in cases:
            answer = await _exchange(socket, frame)
            assert answer[:3] == [4, message_id, code], (frame, answer)
            assert isinstance(answer[3], str) and isinstance(answer[4], dict)
        answer = await _exchange(socket, '[2, "ok", "Heartbeat", {}]')
        assert answer[:2] == [3, "ok"] and "currentTime" in answer[2]
    finally:
        await socket.close()
