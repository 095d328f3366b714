"""The OCPP message log: every frame in and out, paged newest first, kept for the
configured number of days, each frame bounded in size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from evcharge.db import unit_of_work
from evcharge.ocpp.models import Frame
from evcharge.ocpp.simulator.charger import Charger
from tests.conftest import ClientFor
from tests.factories import create_key
from tests.ocpp.conftest import PASSWORD, register_charger


async def test_every_frame_in_and_out_is_logged_and_paged_newest_first(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str
) -> None:
    await register_charger(client, "CP-LOG-1")
    charger = Charger(ocpp_url, "CP-LOG-1", PASSWORD)
    await charger.connect()
    try:
        await charger.boot()
        await charger.send(charger.status(1, "Available"))
    finally:
        await charger.drop()
    await app.state.ocpp.frames.flush()
    first = await client.get("/api/chargers/CP-LOG-1/log", params={"pageSize": 3})
    assert first.status_code == 200, first.text
    page = first.json()
    # The charger's four frames, and whatever the central system asked it meanwhile (its
    # boot reads the smart-charging limits with GetConfiguration, in the background).
    total = page["TotalCount"]
    assert total >= 4 and page["PageSize"] == 3 and len(page["Items"]) == 3
    items = page["Items"]
    for number in range(2, (total + 2) // 3 + 1):
        more = await client.get(f"/API/Chargers/CP-LOG-1/LOG?page={number}&pageSize=3")
        items += more.json()["Items"]
    assert len(items) == total and len({e["Id"] for e in items}) == total
    every = list(reversed(items))  # oldest first
    ours = {e["MessageId"] for e in every if e["Direction"] == "in" and e["MessageType"] == "CALL"}
    entries = [e for e in every if e["MessageId"] in ours]
    assert [(e["Direction"], e["MessageType"], e["Action"]) for e in entries] == [
        ("in", "CALL", "BootNotification"),
        ("out", "CALLRESULT", None),
        ("in", "CALL", "StatusNotification"),
        ("out", "CALLRESULT", None),
    ]
    assert {e["Action"] for e in every if e["MessageId"] not in ours} <= {"GetConfiguration", None}
    assert entries[0]["MessageId"] == entries[1]["MessageId"]
    assert '"chargePointVendor":"evcharge"' in entries[0]["Frame"].replace(" ", "")
    assert all(not e["Truncated"] and e["Size"] == len(e["Frame"]) for e in entries)
    times = [datetime.fromisoformat(e["Time"]) for e in every]
    assert times == sorted(times)


async def test_a_long_frame_keeps_its_beginning_and_says_how_long_it_was(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str
) -> None:
    await register_charger(client, "CP-LOG-2")
    frames = app.state.ocpp.frames
    original, frames.max_chars = frames.max_chars, 40
    charger = Charger(ocpp_url, "CP-LOG-2", PASSWORD)
    try:
        await charger.connect()
        await charger.boot()
    finally:
        frames.max_chars = original
        await charger.drop()
    await frames.flush()
    log = (await client.get("/api/chargers/CP-LOG-2/log")).json()
    boot = log["Items"][-1]
    assert boot["Truncated"] and len(boot["Frame"]) == 40 and boot["Size"] > 40
    assert boot["Frame"].startswith('[2,"')
    assert boot["MessageType"] is None  # a shortened frame is not read further


async def test_frames_older_than_the_retention_are_deleted_by_the_sweep(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await register_charger(client, "CP-LOG-3")
    now = datetime.now(UTC)
    days = app.state.settings.ocpp_log_days
    async with unit_of_work(app.state.sessions) as session:
        for age, text in ((days + 1, "old"), (days - 1, "recent")):
            session.add(
                Frame(
                    charge_point_id="CP-LOG-3",
                    at=now - timedelta(days=age),
                    direction="in",
                    frame=f'"{text}"',
                    size=len(text) + 2,
                )
            )
    await app.state.ocpp.sweep()
    log = (await client.get("/api/chargers/CP-LOG-3/log")).json()
    assert [e["Frame"] for e in log["Items"]] == ['"recent"']


async def test_a_customer_key_reads_only_its_own_chargers_log(
    client: httpx.AsyncClient, app: FastAPI, client_for: ClientFor
) -> None:
    await register_charger(client, "CP-LOG-4")
    await register_charger(client, "CP-LOG-5", customer=2, id_tag=None)
    _, key = await create_key(app, customer=1)
    customer = client_for(key)
    assert (await customer.get("/api/chargers/CP-LOG-4/log")).status_code == 200
    other = await customer.get("/api/chargers/CP-LOG-5/log")
    assert other.status_code == 404
    assert (await customer.get("/api/chargers/CP-NONE/log")).json() == other.json() | {
        "Message": "No charge point with ChargePointId 'CP-NONE' exists."
    }
