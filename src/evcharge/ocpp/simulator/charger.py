"""One simulated OCPP 1.6J charge point, built on the `ocpp` library's client side.

Its clock is simulated (each step moves it by `step`), so a session of hours takes a
moment of real time and the central system sees the charger's own timestamps."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from ocpp.v16 import ChargePoint, call

from evcharge.ocpp.simulator.remote import RemoteCommands
from evcharge.ocpp.simulator.smart import Session, SmartChargingHandlers, SmartState

SUBPROTOCOL = "ocpp1.6"
EPOCH_1970 = datetime(1970, 1, 1, tzinfo=UTC)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@dataclass
class Meter:
    """The energy register (Wh) and the charger's clock."""

    wh: int = 1_000_000
    clock: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(days=1))

    def stamp(self) -> str:
        return self.clock.isoformat()


# The library's ChargePoint is untyped.
class SimulatedChargePoint(RemoteCommands, SmartChargingHandlers, ChargePoint):  # type: ignore[misc]
    """The library's ChargePoint used from the charger side: `call()` sends a CALL; the
    operator's commands are answered by `RemoteCommands` (simulator/remote.py), smart
    charging's by `SmartChargingHandlers` (simulator/smart.py).

    Each frame is handled in a task of its own, so a command whose answer is held back
    (`Charger.answering`) never stops the charger from reading the answers to its own
    calls, as a real charger's firmware does not."""

    _handling: set[asyncio.Task[None]]

    async def start(self) -> None:
        self._handling = set()
        while True:
            message = await self._connection.recv()
            task = asyncio.create_task(self.route_message(message))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)


class Charger:
    """Connection management around a SimulatedChargePoint: connect, drop, reconnect."""

    def __init__(
        self,
        url: str,
        charge_point_id: str,
        password: str | None,
        *,
        timeout: float = 30.0,
        ssl: Any = None,
    ) -> None:
        self.url = url
        self.id = charge_point_id
        self.password = password
        self.timeout = timeout
        self.ssl = ssl
        self.meter = Meter()
        self.smart = SmartState(clock=lambda: self.meter.clock)
        """Configuration and charging profiles: kept across connections, as a charger does."""
        self.socket: Any = None
        self.cp: SimulatedChargePoint | None = None
        self._reader: asyncio.Task[None] | None = None
        self.session: tuple[int, int, str] | None = None
        """The running session, as (connector, transactionId, idTag)."""
        self.commands: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        """Every remote command received, in order."""
        self.answering = asyncio.Event()
        """Cleared, the charger holds its answers to remote commands back (a test's stall)."""
        self.answering.set()
        self.started: asyncio.Queue[int] = asyncio.Queue()
        """The transactionId of every session started by `start_session`."""
        self.stopped: asyncio.Queue[int] = asyncio.Queue()
        """The transactionId of every session ended by `stop_session`, once it is."""
        self.online = asyncio.Event()
        """Set by `keep_connected` while connected and booted."""
        self.last_error: str | None = None
        """Why `keep_connected`'s last attempt to connect failed."""
        self.connected_to: asyncio.Queue[str] = asyncio.Queue()
        """Every URL `keep_connected` got connected and booted at, in order."""

    async def connect(self) -> None:
        headers = {}
        if self.password is not None:
            headers["Authorization"] = basic_auth(self.id, self.password)
        self.socket = await websockets.connect(
            f"{self.url}/{self.id}",
            subprotocols=[websockets.Subprotocol(SUBPROTOCOL)],
            additional_headers=headers,
            ping_interval=None,
            open_timeout=self.timeout,
            max_queue=4,
            ssl=self.ssl,
            compression=None,
        )
        self.cp = SimulatedChargePoint(self.id, self.socket, response_timeout=self.timeout)
        self.cp.smart = self.smart
        self.cp.charger = self
        self._reader = asyncio.create_task(self._read())

    async def closed(self) -> None:
        """Returns when the connection is gone (the server closed it, or it died)."""
        if self._reader is not None:
            await asyncio.wait({self._reader})

    async def _read(self) -> None:
        assert self.cp is not None
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            await self.cp.start()

    async def drop(self) -> None:
        """Lose the connection (as a charger whose network goes away)."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()
        self.socket = None
        self.cp = None

    async def send(self, payload: Any) -> Any:
        assert self.cp is not None, "not connected"
        result = await self.cp.call(payload, suppress=False)
        # The charger knows its running session (a TxProfile belongs to it).
        if isinstance(payload, call.StartTransaction):
            started = datetime.fromisoformat(payload.timestamp)
            self.smart.session = Session(payload.connector_id, int(result.transaction_id), started)
        elif isinstance(payload, call.StopTransaction):
            self.smart.session_ended()
        return result

    async def timed(self, payload: Any) -> tuple[Any, float]:
        started = time.perf_counter()
        result = await self.send(payload)
        return result, time.perf_counter() - started

    # --- the messages of a session ---------------------------------------------------

    async def boot(self) -> str:
        result = await self.send(
            call.BootNotification(
                charge_point_model="Sim-22",
                charge_point_vendor="evcharge",
                firmware_version="1.0.0",
            )
        )
        return str(result.status)

    def status(self, connector: int, status: str) -> call.StatusNotification:
        return call.StatusNotification(
            connector_id=connector,
            error_code="NoError",
            status=status,
            timestamp=self.meter.stamp(),
        )

    def start(self, connector: int, id_tag: str) -> call.StartTransaction:
        return call.StartTransaction(
            connector_id=connector,
            id_tag=id_tag,
            meter_start=self.meter.wh,
            timestamp=self.meter.stamp(),
        )

    def meter_value(
        self,
        connector: int,
        transaction_id: int | None,
        *,
        unit: str | None = "Wh",
        kwh_as_wh: bool = False,
    ) -> call.MeterValues:
        value = f"{self.meter.wh / 1000:.3f}" if kwh_as_wh else str(self.meter.wh)
        sampled: list[dict[str, Any]] = [
            {
                "value": value,
                "measurand": "Energy.Active.Import.Register",
                "context": "Sample.Periodic",
                "unit": None if kwh_as_wh else unit,
            },
            {
                "value": "7000",
                "measurand": "Power.Active.Import",
                "unit": "W",
                "context": "Sample.Periodic",
            },
            {"value": "55", "measurand": "SoC", "unit": "Percent", "context": "Sample.Periodic"},
        ]
        for entry in sampled:
            if entry["unit"] is None:
                del entry["unit"]
        return call.MeterValues(
            connector_id=connector,
            transaction_id=transaction_id,
            meter_value=[{"timestamp": self.meter.stamp(), "sampledValue": sampled}],
        )

    def stop(self, transaction_id: int, id_tag: str, reason: str = "EVDisconnected") -> Any:
        return call.StopTransaction(
            meter_stop=self.meter.wh,
            timestamp=self.meter.stamp(),
            transaction_id=transaction_id,
            id_tag=id_tag,
            reason=reason,
            transaction_data=[
                {
                    "timestamp": self.meter.stamp(),
                    "sampledValue": [
                        {
                            "value": str(self.meter.wh),
                            "context": "Transaction.End",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        }
                    ],
                }
            ],
        )

    async def start_session(self, connector: int, id_tag: str) -> int:
        """A session as after a RemoteStartTransaction: start, then Charging."""
        await self.send(self.status(connector, "Preparing"))
        result = await self.send(self.start(connector, id_tag))
        transaction_id = int(result.transaction_id)
        self.session = (connector, transaction_id, id_tag)
        await self.send(self.status(connector, "Charging"))
        self.started.put_nowait(transaction_id)
        return transaction_id

    async def stop_session(self, reason: str) -> None:
        assert self.session is not None
        connector, transaction_id, id_tag = self.session
        self.session = None
        await self.send(self.stop(transaction_id, id_tag, reason))
        await self.send(self.status(connector, "Finishing"))
        await self.send(self.status(connector, "Available"))
        self.stopped.put_nowait(transaction_id)

    def advance(self, step: timedelta, power_w: int = 7000) -> None:
        self.meter.clock += step
        self.meter.wh += int(power_w * step.total_seconds() / 3600)


async def keep_connected(charger: Charger, urls: list[str], retry_seconds: float = 0.2) -> None:
    """Stay connected as a charger does: boot and report Available after each connection,
    and when it is lost, connect again — to the next of `urls` (the servers behind one
    address in production). Runs until cancelled."""
    turn = 0
    while True:
        charger.url = urls[turn % len(urls)]
        turn += 1
        try:
            await charger.connect()
            await charger.boot()
            await charger.send(charger.status(1, "Available"))
        except Exception as exc:
            charger.last_error = f"{type(exc).__name__}: {exc}"
            await charger.drop()
            await asyncio.sleep(retry_seconds)
            continue
        charger.online.set()
        charger.connected_to.put_nowait(charger.url)
        await charger.closed()
        charger.online.clear()
        await charger.drop()
