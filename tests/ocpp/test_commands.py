"""Remote commands over HTTP to a simulated charger on a real socket (one process; the
routing between processes is in test_command_routing.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from ocpp.v16 import call as ocpp_call

from evcharge.ocpp.connection import ConnectionClosed
from evcharge.ocpp.simulator.charger import Charger
from tests.conftest import ClientFor
from tests.factories import create_key
from tests.ocpp.conftest import ID_TAG, PASSWORD, register_charger

CP = "CP-1"


def commands(action: str, cp: str = CP) -> str:
    return f"/api/chargers/{cp}/commands/{action}"


@contextlib.asynccontextmanager
async def connected(url: str, cp: str = CP) -> AsyncIterator[Charger]:
    charger = Charger(url, cp, PASSWORD)
    await charger.connect()
    try:
        assert await charger.boot() == "Accepted"
        await charger.send(charger.status(1, "Available"))
        yield charger
    finally:
        await charger.drop()


@pytest.fixture
def short_timeout(app: FastAPI) -> Iterator[float]:
    settings = app.state.ocpp.settings
    original = settings.ocpp_command_timeout_seconds
    settings.ocpp_command_timeout_seconds = 1.0
    yield 1.0
    settings.ocpp_command_timeout_seconds = original


async def test_a_command_reaches_the_charger_and_answers_its_reply(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, CP)
    async with connected(ocpp_url) as charger:
        reset = await client.post(commands("Reset"), json={"type": "Soft"})
        assert reset.status_code == 200, reset.text
        assert reset.json() == {"status": "Accepted"}
        assert await charger.commands.get() == ("Reset", {"type": "Soft"})
        unlock = await client.post(commands("unlockconnector"), json={"connectorId": 1})
        assert unlock.json() == {"status": "Unlocked"}  # actions match case-insensitively
        trigger = await client.post(
            commands("TriggerMessage"), json={"requestedMessage": "DiagnosticsStatusNotification"}
        )
        assert trigger.json() == {"status": "NotImplemented"}


async def test_remote_start_starts_a_session_and_remote_stop_ends_it(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, CP)
    async with connected(ocpp_url) as charger:
        body = {"idTag": ID_TAG, "connectorId": 1}
        started = await client.post(commands("RemoteStartTransaction"), json=body)
        assert started.json() == {"status": "Accepted"}, started.text
        transaction_id = await charger.started.get()
        [tx] = (await client.get(f"/api/chargers/{CP}/transactions")).json()["Items"]
        assert tx["TransactionId"] == transaction_id and tx["IdTag"] == ID_TAG
        again = await client.post(commands("RemoteStartTransaction"), json=body)
        assert again.json() == {"status": "Rejected"}  # one session at a time
        stop = {"transactionId": transaction_id}
        stopped = await client.post(commands("RemoteStopTransaction"), json=stop)
        assert stopped.json() == {"status": "Accepted"}
        assert await charger.stopped.get() == transaction_id
        [tx] = (await client.get(f"/api/chargers/{CP}/transactions")).json()["Items"]
        assert tx["State"] == "stopped" and tx["StopReason"] == "Remote"
        unknown = await client.post(commands("RemoteStopTransaction"), json=stop)
        assert unknown.json() == {"status": "Rejected"}


async def test_a_payload_the_ocpp_schema_refuses_is_a_400_naming_the_field(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, CP)
    async with connected(ocpp_url) as charger:
        cases = [
            ("Reset", '{"type": "Gentle"}', "request.type"),
            ("Reset", "{}", "request.type"),
            ("Reset", "", "request.type"),  # no body at all: an empty payload
            ("Reset", '{"type": "Soft", "when": "now"}', "request.when"),
            ("UnlockConnector", '{"connectorId": "one"}', "request.connectorId"),
            ("RemoteStartTransaction", '{"idTag": "' + "x" * 21 + '"}', "request.idTag"),
            ("ChangeConfiguration", '{"key": "HeartbeatInterval"}', "request.value"),
            ("ChangeAvailability", '{"connectorId": 1e400, "type": "Operative"}',
             "request.connectorId"),
        ]  # fmt: skip
        for action, body, field in cases:
            headers = {"Content-Type": "application/json"}
            sent = await client.post(commands(action), content=body, headers=headers)
            assert sent.status_code == 400, (action, body, sent.text)
            assert field in sent.json()["ModelState"], (action, body, sent.json())
        array = await client.post(commands("Reset"), json=["Soft"])
        assert array.status_code == 400 and "request" in array.json()["ModelState"]
        assert charger.commands.empty()  # nothing reached the charger


async def test_unknown_action_or_charger_is_a_404_and_a_charger_not_connected_a_409(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, CP)
    unknown = await client.post(commands("SelfDestruct"), json={})
    assert unknown.status_code == 404
    assert "SelfDestruct" in unknown.json()["Message"]
    missing = await client.post(commands("Reset", cp="CP-404"), json={"type": "Soft"})
    assert missing.status_code == 404 and "CP-404" in missing.json()["Message"]
    offline = await client.post(commands("Reset"), json={"type": "Soft"})
    assert offline.status_code == 409, offline.text
    assert offline.json() == {"Message": "CP-1 is not connected."}


async def test_a_charger_that_does_not_answer_in_time_is_a_504_and_incoming_messages_flow(
    client: httpx.AsyncClient, ocpp_url: str, short_timeout: float
) -> None:
    await register_charger(client, CP)
    async with connected(ocpp_url) as charger:
        charger.answering.clear()
        pending = asyncio.create_task(client.post(commands("Reset"), json={"type": "Hard"}))
        assert (await charger.commands.get())[0] == "Reset"
        # While the command waits for its answer, the charger's own messages are served.
        heartbeat = await charger.send(charger.status(1, "Available"))
        assert heartbeat is not None
        timed_out = await pending
        assert timed_out.status_code == 504, timed_out.text
        assert "did not answer Reset in time" in timed_out.json()["Message"]
        charger.answering.set()  # its late answer is dropped; the next command is served
        unlock = await client.post(commands("UnlockConnector"), json={"connectorId": 1})
        assert unlock.json() == {"status": "Unlocked"}


async def test_a_call_of_ours_fails_at_once_when_the_charger_goes(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str
) -> None:
    """Profiles and configuration reads use the library's call: a socket that closes
    ends the wait at once, not after the 30 s response timeout (a charger that reboots
    and goes while we read its configuration left a reconciliation hanging)."""
    await register_charger(client, CP)
    async with connected(ocpp_url) as charger:
        await asyncio.wait_for(app.state.ocpp.smart.idle.wait(), timeout=30)
        charger.answering.clear()
        ours = app.state.ocpp.charge_points[CP]
        pending = asyncio.create_task(ours.call(ocpp_call.UnlockConnector(connector_id=1)))
        assert (await charger.commands.get())[0] == "UnlockConnector"
        await charger.drop()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(pending, timeout=5)


async def test_a_callerror_from_the_charger_is_a_502_with_its_code(
    client: httpx.AsyncClient, ocpp_url: str
) -> None:
    await register_charger(client, CP)
    async with connected(ocpp_url) as charger:
        assert charger.cp is not None  # a charger without GetConfiguration: NotImplemented
        charger.cp.route_map.pop("GetConfiguration", None)
        answer = await client.post(
            commands("GetConfiguration"), json={"key": ["HeartbeatInterval"]}
        )
        assert answer.status_code == 502, answer.text
        body = answer.json()
        assert body["ErrorCode"] == "NotImplemented"
        assert "CALLERROR NotImplemented" in body["Message"]
        assert isinstance(body["ErrorDetails"], dict)


async def test_commands_to_one_charger_go_one_at_a_time(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str
) -> None:
    await register_charger(client, "CP-SERIAL")
    async with connected(ocpp_url, "CP-SERIAL") as charger:
        charger.answering.clear()
        bodies = [{"connectorId": 1}, {"connectorId": 2}, {"connectorId": 1}]
        sent = [
            asyncio.create_task(client.post(commands("UnlockConnector", cp="CP-SERIAL"), json=b))
            for b in bodies
        ]
        first = await charger.commands.get()
        charger.answering.set()
        answers = await asyncio.gather(*sent)
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert sorted(a.json()["status"] for a in answers) == [
            "NotSupported",
            "Unlocked",
            "Unlocked",
        ]
        assert first[0] == "UnlockConnector"
    await app.state.ocpp.frames.flush()
    log = (await client.get("/api/chargers/CP-SERIAL/log", params={"pageSize": 100})).json()
    calls_out = [e for e in reversed(log["Items"]) if e["Action"] == "UnlockConnector"]
    assert len(calls_out) == 3
    # Each CALL out is answered before the next one leaves: one outstanding call.
    order = [e["MessageId"] for e in reversed(log["Items"]) if e["MessageId"] in
             {c["MessageId"] for c in calls_out}]  # fmt: skip
    assert order == [m for c in calls_out for m in (c["MessageId"], c["MessageId"])]


async def test_customer_keys_may_start_and_stop_on_their_own_chargers_only(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str, client_for: ClientFor
) -> None:
    await register_charger(client, CP)
    await register_charger(client, "CP-2", customer=2, id_tag="CARD-0002")
    _, key = await create_key(app, customer=1)
    customer = client_for(key)
    async with connected(ocpp_url) as charger:
        refused = await customer.post(commands("Reset"), json={"type": "Soft"})
        assert refused.status_code == 403, refused.text
        other = await customer.post(
            commands("RemoteStartTransaction", cp="CP-2"), json={"idTag": ID_TAG}
        )
        assert other.status_code == 404  # another customer's charger: as if it did not exist
        foreign = await customer.post(
            commands("RemoteStartTransaction"), json={"idTag": "CARD-0002"}
        )
        assert foreign.status_code == 400, foreign.text
        assert "request.idTag" in foreign.json()["ModelState"]
        own = await customer.post(commands("RemoteStartTransaction"), json={"idTag": ID_TAG})
        assert own.json() == {"status": "Accepted"}, own.text
        transaction_id = await charger.started.get()
        stop = await customer.post(
            commands("RemoteStopTransaction"), json={"transactionId": transaction_id}
        )
        assert stop.json() == {"status": "Accepted"}
