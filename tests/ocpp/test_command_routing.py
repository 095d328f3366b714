"""Remote commands between real server processes on one database (PostgreSQL: LISTEN/
NOTIFY; SQLite: the polled bus table of one host): a command sent to the process that
does not hold the charger's socket reaches it, and so does a charging profile changed in
that other process; when the holder dies (kill -9), a pending command fails within its
timeout and the charger reconnects to the other process, which then serves commands
itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import httpx
import pytest

from evcharge.ocpp.simulator.charger import Charger, keep_connected
from evcharge.ocpp.smart.schedule import SITE_DEFAULT_PROFILE_ID
from tests.conftest import ADMIN_HEADERS, ADMIN_KEY
from tests.live_server import LiveServer, live_server
from tests.ocpp.conftest import PASSWORD, register_charger
from tests.ocpp.test_smart_charging import profile_of

CP = "CP-ROUTE-1"
TIMEOUT = 6.0
"""EVCHARGE_OCPP_COMMAND_TIMEOUT_SECONDS of both servers."""
pytestmark = pytest.mark.slow


async def received(charger: Charger) -> tuple[str, dict[str, object]]:
    return await asyncio.wait_for(charger.commands.get(), TIMEOUT * 2)


async def online(charger: Charger) -> str:
    try:
        return await asyncio.wait_for(charger.connected_to.get(), 60)
    except TimeoutError:
        raise AssertionError(f"the charger did not connect: {charger.last_error}") from None


def share_w(charger: Charger) -> float | None:
    """The power limit (W) of the charger's default share, as installed."""
    installed = profile_of(charger.smart, SITE_DEFAULT_PROFILE_ID)
    if installed is None:
        return None
    schedule = installed["profile"]["charging_schedule"]
    [period] = schedule["charging_schedule_period"]
    limit = float(period["limit"])
    return limit if schedule["charging_rate_unit"] == "W" else None


def command(server: LiveServer, action: str) -> str:
    return f"{server.url}/api/chargers/{CP}/commands/{action}"


async def test_a_command_reaches_the_holding_process_and_fails_fast_when_it_dies(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    await register_charger(client, CP)
    settings = {
        "EVCHARGE_OCPP_COMMAND_TIMEOUT_SECONDS": str(TIMEOUT),
        "EVCHARGE_DB_POOL_SIZE": "3",  # the test PostgreSQL is shared
        "EVCHARGE_SCHEDULE_ENABLED": "false",
        # Profiles changed in another process arrive by the bus only (no poll in time).
        "EVCHARGE_OCPP_PROFILE_POLL_SECONDS": "3600",
    }
    with contextlib.ExitStack() as servers:

        def start(name: str) -> LiveServer:
            return servers.enter_context(
                live_server(
                    tmp_path / name,
                    database_url=database_url,
                    admin_key=ADMIN_KEY,
                    settings=settings,
                )
            )

        asker, holder = await asyncio.gather(
            asyncio.to_thread(start, "asker"), asyncio.to_thread(start, "holder")
        )
        charger = Charger("", CP, PASSWORD)
        keeper = asyncio.create_task(keep_connected(charger, [holder.ocpp_url, asker.ocpp_url]))
        http = httpx.AsyncClient(headers=ADMIN_HEADERS, timeout=TIMEOUT + 30)
        try:
            assert await online(charger) == holder.ocpp_url
            seen = (await http.get(f"{asker.url}/api/chargers/{CP}")).json()
            assert f":{holder.process.pid}:" in seen["ServerProcess"], seen

            routed = await http.post(command(asker, "Reset"), json={"type": "Soft"})
            assert routed.status_code == 200, routed.text
            assert routed.json() == {"status": "Accepted"}
            assert await received(charger) == ("Reset", {"type": "Soft"})

            # A site limit changed through the other process: the holder installs the
            # charger's new default share (docs/ocpp.md, Smart charging) on being told.
            # The first change may still be sent by the charger's boot; once it is
            # installed the boot is over, and the second can only come by the bus.
            for kw in (7, 5):
                limited = await http.put(
                    f"{asker.url}/api/customers/1/contracts/1/gateways/1",
                    json={"Name": "Gateway 1", "MaxPowerKw": kw},
                )
                assert limited.status_code == 200, limited.text
                await charger.smart.wait_for(lambda kw=kw: share_w(charger) == kw * 1000, 20)
            refused = await http.post(
                command(asker, "TriggerMessage"),
                json={"requestedMessage": "FirmwareStatusNotification"},
            )
            assert refused.json() == {"status": "NotImplemented"}  # the charger's own reply
            await received(charger)

            # The holder dies with a command pending: it fails within its timeout.
            charger.answering.clear()
            pending = asyncio.create_task(
                http.post(command(asker, "UnlockConnector"), json={"connectorId": 1})
            )
            assert (await received(charger))[0] == "UnlockConnector"
            os.kill(holder.process.pid, signal.SIGKILL)
            failed = await pending
            assert failed.status_code in (409, 504), failed.text
            charger.answering.set()

            # The charger reconnects to the process still alive, which now holds it.
            assert await online(charger) == asker.ocpp_url
            served = await http.post(command(asker, "UnlockConnector"), json={"connectorId": 1})
            assert served.json() == {"status": "Unlocked"}, served.text
        finally:
            await http.aclose()
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await charger.drop()


async def test_commands_reach_the_charger_whichever_worker_of_one_host_answers(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    """`evcharge serve --workers 2`: the charger's socket is in one worker, each request
    (a fresh connection) may land in either; every command is answered by the charger."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the workers of one host on SQLite; PostgreSQL is covered above")
    await register_charger(client, CP)
    settings = {
        "EVCHARGE_WORKERS": "2",
        "EVCHARGE_OCPP_COMMAND_TIMEOUT_SECONDS": str(TIMEOUT),
        "EVCHARGE_SCHEDULE_ENABLED": "false",
    }
    with contextlib.ExitStack() as servers:
        # Waited for on a thread: this process's event loop must keep running meanwhile,
        # or a write of the in-process app on the same SQLite file holds the write lock
        # while the new server's start-up waits for it (and gives up).
        starting = live_server(
            tmp_path / "workers", database_url=database_url, admin_key=ADMIN_KEY, settings=settings
        )
        server = await asyncio.to_thread(servers.enter_context, starting)
        charger = Charger("", CP, PASSWORD)
        keeper = asyncio.create_task(keep_connected(charger, [server.ocpp_url]))
        try:
            await online(charger)
            for n in range(8):
                async with httpx.AsyncClient(headers=ADMIN_HEADERS, timeout=TIMEOUT + 30) as http:
                    connector = 1 + n % 2
                    sent = await http.post(
                        command(server, "UnlockConnector"), json={"connectorId": connector}
                    )
                assert sent.status_code == 200, sent.text
                assert sent.json() == {"status": "Unlocked" if connector == 1 else "NotSupported"}
                assert await received(charger) == ("UnlockConnector", {"connector_id": connector})
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await charger.drop()
