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


class SimulatedChargePoint(ChargePoint):  # type: ignore[misc]  # the library is untyped
    """The library's ChargePoint used from the charger side: `call()` sends a CALL."""


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
        self.socket: Any = None
        self.cp: SimulatedChargePoint | None = None
        self._reader: asyncio.Task[None] | None = None

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
        self._reader = asyncio.create_task(self._read())

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
        return await self.cp.call(payload, suppress=False)

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

    def advance(self, step: timedelta, power_w: int = 7000) -> None:
        self.meter.clock += step
        self.meter.wh += int(power_w * step.total_seconds() / 3600)
