"""The central system of one server process: its live chargers, its row in
`ocpp_processes`, and the background sweep (liveness, dead processes, lost stops,
sessions not yet settled)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from evcharge.config import Settings
from evcharge.db import unit_of_work
from evcharge.ocpp import frame_log, repository, service
from evcharge.ocpp.bus import create_bus
from evcharge.ocpp.commands import dispatch
from evcharge.ocpp.commands.dispatch import Commands
from evcharge.ocpp.connection import FrameHook, LiveConnections
from evcharge.ocpp.frame_log import FrameLog
from evcharge.ocpp.meter_writer import MeterWriter
from evcharge.ocpp.models import ServerProcess
from evcharge.ocpp.passwords import VerifiedCache
from evcharge.ocpp.settlement import Settlement
from evcharge.ocpp.smart.reconciler import Reconciler

if TYPE_CHECKING:
    from evcharge.ocpp.v16.charge_point import CentralChargePoint

log = structlog.get_logger("evcharge.ocpp")
T = TypeVar("T")
Clock = Callable[[], datetime]


class CentralSystem:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.clock = clock
        self.process = ServerProcess(
            id=f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            host=socket.gethostname()[:255],
            pid=os.getpid(),
        )
        self.live = LiveConnections()
        self.passwords = VerifiedCache()
        self.frames = FrameLog(
            engine, self.now, settings.ocpp_log_frame_chars, settings.ocpp_log_days > 0
        )
        self.frame_hook: FrameHook | None = self.frames.hook
        self.meters = MeterWriter(engine)
        self.charge_points: dict[str, CentralChargePoint] = {}
        """The protocol objects of the sockets this process holds: outbound calls go
        through their `call` (one outstanding call per charger)."""
        self.smart = Reconciler(self)
        self.bus = create_bus(settings)
        """Notifications between the server processes (`ocpp/bus.py`)."""
        self.commands = Commands(self, self.bus)
        self.settlement = Settlement(functools.partial(service.settle, sessions, engine))
        """Ended sessions become orders here, after the charger has its answer."""
        # Admission control: OCPP handlers queue here (in memory, in order, without a
        # deadline) rather than for a pool connection, whose wait times out after
        # EVCHARGE_DB_TIMEOUT_SECONDS — under a reconnect storm that turned into failed
        # messages, retries and more load. A few connections stay free for the API, the
        # meter writer, the sweep and settlement.
        self.gate_size = max(1, settings.db_pool_size - 4)
        self._gate = asyncio.Semaphore(self.gate_size)
        self._queued: dict[object, float] = {}
        """Units of work waiting for the gate: since when (loop time), oldest first."""
        self._sweeper: asyncio.Task[None] | None = None
        self._process_touched: float | None = None
        """Loop time of the last committed write of this process's row."""

    @property
    def heartbeat_seconds(self) -> int:
        return self.settings.ocpp_heartbeat_seconds

    def now(self) -> datetime:
        return self.clock()

    async def in_unit(
        self, work: Callable[[AsyncSession, datetime], Awaitable[T]], *, soft: bool = False
    ) -> T:
        """One unit of work. `soft`: connection state (who is connected, heartbeats,
        connector states) that the chargers re-send anyway — on PostgreSQL its commit does
        not wait for the WAL flush (a crash loses at most the last fraction of a second of
        it, never sessions, meter values or orders, which are always durable)."""
        ticket = object()
        self._queued[ticket] = asyncio.get_running_loop().time()
        try:
            await self._gate.acquire()
        finally:
            del self._queued[ticket]
        try:
            async with unit_of_work(self.sessions) as session:
                if soft and self.engine.dialect.name == "postgresql":
                    await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                return await work(session, self.now())
        finally:
            self._gate.release()

    def queue_wait(self) -> float:
        """Seconds the oldest unit of work still waiting for the gate has waited (0: none)."""
        for since in self._queued.values():
            return asyncio.get_running_loop().time() - since
        return 0.0

    def overloaded(self) -> bool:
        """The chargers' database work queues longer than EVCHARGE_OCPP_ADMIT_WAIT_SECONDS:
        a new connection's handshake would wait in that queue (twice) and its boot after
        it, so it is better told to come back while the chargers already connected finish
        their work. It ends as soon as the queue is short again."""
        return self.queue_wait() > self.settings.ocpp_admit_wait_seconds

    # --- this process -----------------------------------------------------------------

    def process_row_fresh(self) -> bool:
        """This process's row was refreshed within a third of its time to live: a new
        connection need not refresh it (every connection updating the one row made them
        all queue for its lock, a reconnect storm of thousands in single file)."""
        touched = self._process_touched
        interval = self.settings.ocpp_process_ttl_seconds / 3
        return touched is not None and asyncio.get_running_loop().time() - touched < interval

    def process_touched(self) -> None:
        self._process_touched = asyncio.get_running_loop().time()

    def ensure_sweeping(self) -> None:
        """Start the sweep with the first connection (the process row is written by the
        first connections, see `service.connected`, then by the sweep)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="ocpp-sweep")
        self.smart.ensure_running()

    async def sweep(self) -> None:
        """One pass: say this process lives, free chargers of dead processes, close
        sessions whose stop never came, settle what is not settled yet."""
        ttl = timedelta(seconds=self.settings.ocpp_process_ttl_seconds)
        silence = timedelta(seconds=self.settings.ocpp_transaction_silence_seconds)

        async def liveness(session: AsyncSession, now: datetime) -> list[int]:
            await repository.touch_process(session, self.process, now)
            await repository.clear_dead(session, now - ttl, now)
            closed = await service.close_stale(session, now, silence)
            return closed + await repository.unsettled(session)

        pending = await self.in_unit(liveness)
        self.process_touched()
        self.settlement.soon(sorted(set(pending)))
        await self.in_unit(self._housekeeping)

    async def _housekeeping(self, session: AsyncSession, now: datetime) -> None:
        """The message log's retention; command and bus rows nobody waits for any more."""
        await frame_log.purge(session, now - timedelta(days=self.settings.ocpp_log_days))
        await dispatch.purge(session, now)

    async def _sweep_forever(self) -> None:
        interval = max(1.0, self.settings.ocpp_process_ttl_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception as exc:
                log.warning("ocpp_sweep_failed", error=repr(exc))

    async def shutdown(self) -> None:
        """Close every socket (chargers reconnect to another process) and say so."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.smart.close()
        for connection in list(self.live.all()):
            await connection.close(code=1001, reason="server shutting down")
        await self.settlement.close()
        await self.meters.close()
        await self.frames.close()
        await self.bus.close()
        # Ready to serve again (tests start and stop servers on one app): both are lazy.
        self.bus = create_bus(self.settings)
        self.commands = Commands(self, self.bus)

    def describe(self) -> dict[str, Any]:
        return {"process": self.process.id, "connections": len(self.live)}
