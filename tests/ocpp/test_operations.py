"""Operating chargers: the CLI, TLS (security profile 2), scoping, dead processes."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from evcharge.db import unit_of_work
from evcharge.ocpp import repository
from evcharge.ocpp.models import Charger as ChargerRow
from evcharge.ocpp.models import ServerProcess
from evcharge.ocpp.simulator.charger import Charger
from tests.commandline import EVCHARGE, run
from tests.conftest import ADMIN_KEY
from tests.factories import create_key
from tests.ocpp.conftest import ID_TAG, PASSWORD, register_charger, serving, transactions


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVCHARGE_")}
    env["EVCHARGE_DATABASE_URL"] = database_url
    env["EVCHARGE_ADMIN_KEY"] = ADMIN_KEY
    return env


def _evcharge(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run(*args, env=_env(database_url), stdin=stdin)


async def _boots(url: str, password: str, **options: object) -> str:
    charger = Charger(url, "CP-1", password, **options)  # type: ignore[arg-type]
    await charger.connect()
    try:
        return await charger.boot()
    finally:
        await charger.drop()


async def test_set_password_from_standard_input_or_generated_lets_the_charger_in(
    client: httpx.AsyncClient, database_url: str, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1", password=None)
    done = await asyncio.to_thread(
        _evcharge, database_url, "chargers", "set-password", "CP-1", stdin=PASSWORD + "\n"
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert await _boots(ocpp_url, PASSWORD) == "Accepted"
    generated = await asyncio.to_thread(
        _evcharge, database_url, "chargers", "set-password", "CP-1", "--generate"
    )
    assert generated.returncode == 0, generated.stderr
    password = generated.stdout.strip()
    assert 16 <= len(password) <= 40 and password != PASSWORD
    assert await _boots(ocpp_url, password) == "Accepted"
    with pytest.raises(Exception, match="401"):  # the old password no longer works
        await _boots(ocpp_url, PASSWORD)


async def test_set_password_refuses_a_short_password_and_an_unknown_charger(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await register_charger(client, "CP-1", password=None)
    short = await asyncio.to_thread(
        _evcharge, database_url, "chargers", "set-password", "CP-1", stdin="short\n"
    )
    assert short.returncode == 2 and "16 to 40" in short.stderr
    unknown = await asyncio.to_thread(
        _evcharge, database_url, "chargers", "set-password", "CP-9", "--generate"
    )
    assert unknown.returncode == 1 and "CP-9" in unknown.stderr
    assert unknown.stdout == ""  # no password printed for nothing


async def test_simulate_command_runs_sessions_that_become_orders(
    client: httpx.AsyncClient, database_url: str, ocpp_url: str
) -> None:
    for n in (1, 2):
        await register_charger(client, f"CP-{n}", device=n, id_tag=ID_TAG if n == 1 else None)
    process = await asyncio.create_subprocess_exec(
        *EVCHARGE, "simulate", "--url", ocpp_url, "--chargers", "2", "--prefix", "CP-",
        "--id-tag", ID_TAG, "--meter-values", "2", "--interval", "0",
        env={**_env(database_url), "EVCHARGE_SIM_PASSWORD": PASSWORD},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, (out, err)
    assert "transactions: 2, stops answered: 2, errors: 0" in out.decode()
    for cpid in ("CP-1", "CP-2"):
        await transactions(client, cpid)  # billed after the stop's answer
    orders = (await client.get("/api/ChargeOrder/GetOrders")).json()
    assert orders["TotalCount"] == 2


async def test_tls_security_profile_2_with_a_self_signed_certificate(
    client: httpx.AsyncClient, app: FastAPI, tmp_path: Path
) -> None:
    await register_charger(client, "CP-1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    await asyncio.to_thread(
        subprocess.run,
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    trust = ssl.create_default_context(cafile=str(cert))
    async with serving(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        assert url.startswith("wss://")
        assert await _boots(url, PASSWORD, ssl=trust) == "Accepted"
        with pytest.raises(Exception, match="401"):
            await _boots(url, "wrong-password-00000", ssl=trust)
        with pytest.raises(ssl.SSLError):  # a charger that does not trust the certificate
            await _boots(url, PASSWORD, ssl=ssl.create_default_context())


async def test_customer_keys_see_only_their_own_chargers(
    client: httpx.AsyncClient, client_for: object, app: FastAPI
) -> None:
    await register_charger(client, "CP-1", customer=1)
    await register_charger(client, "CP-2", customer=2, id_tag="CARD-0002")
    _id, key = await create_key(app, customer=1)
    own = client_for(key)  # type: ignore[operator]
    listing = (await own.get("/api/chargers")).json()
    assert [c["ChargePointId"] for c in listing["Items"]] == ["CP-1"]
    assert (await own.get("/api/chargers/CP-1")).status_code == 200
    for path in ("/api/chargers/CP-2", "/api/chargers/CP-2/transactions"):
        assert (await own.get(path)).status_code == 404
    assert (await own.put("/api/customers/1/idtags/X1", json={})).status_code == 403
    assert (await own.get("/api/customers/2/idtags/CARD-0002")).status_code == 404
    everyone = (await client.get("/api/chargers")).json()
    assert everyone["TotalCount"] == 2


async def test_chargers_of_a_dead_process_are_shown_disconnected_and_cleared(
    client: httpx.AsyncClient, app: FastAPI, ocpp_url: str
) -> None:
    await register_charger(client, "CP-1")
    charger = Charger(ocpp_url, "CP-1", PASSWORD)
    await charger.connect()
    await charger.boot()
    central = app.state.ocpp
    try:
        [item] = (await client.get("/api/chargers")).json()["Items"]
        assert item["Connected"] is True
        # Another process held CP-2's socket and died (its row was last seen long ago).
        await register_charger(client, "CP-2", device=2, id_tag=None)
        long_ago = app.state.clock() - timedelta(hours=1)
        dead = ServerProcess(
            id="dead:1:x", host="dead", pid=1, started=long_ago, last_seen=long_ago
        )
        async with unit_of_work(app.state.sessions) as session:
            session.add(dead)
            session.add(ChargerRow(charge_point_id="CP-2", device_id=(
                await repository.identity(session, "CP-2")).device_id,  # type: ignore[union-attr]
                connected=True, connected_since=long_ago, process_id="dead:1:x"))  # fmt: skip
        listing = {
            c["ChargePointId"]: c for c in (await client.get("/api/chargers")).json()["Items"]
        }
        assert listing["CP-2"]["Connected"] is False and listing["CP-1"]["Connected"] is True
        await central.sweep()
        async with unit_of_work(app.state.sessions) as session:
            row = await repository.charger(session, "CP-2")
            assert row is not None and row.connected is False and row.process_id is None
            assert await session.get(ServerProcess, "dead:1:x") is None
            assert (await repository.charger(session, "CP-1")).connected is True  # type: ignore[union-attr]
    finally:
        await charger.drop()
