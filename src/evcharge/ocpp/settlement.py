"""Ended sessions become orders after the charger has its answer. A StopTransaction (or a
Status/Start that closes a session whose stop never came) is answered as soon as the stop
is stored; turning it into a ChargeOrder (three short units of work through CreateOrder's
service) follows here, in arrival order. Nothing is lost when this process dies first: a
stored, unsettled session is found by the sweep of whichever process runs next
(`CentralSystem.sweep`), and settling is idempotent (the order's Id comes from the charger
and transaction)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

import structlog

log = structlog.get_logger("evcharge.ocpp")


class Settlement:
    """One worker, on a database connection of its own, settling in arrival order.
    Settlement does not queue with the chargers' messages (`CentralSystem._gate`, first
    come first served): in a reconnect storm of 10,000 it waited behind thousands of them
    for each order and fell minutes behind the stops; one connection of the few the gate
    leaves free keeps it at the stops' pace (three short units of work per session)."""

    def __init__(self, settle: Callable[[int], Awaitable[None]]) -> None:
        self._settle = settle
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._queued: set[int] = set()
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def soon(self, transaction_ids: Iterable[int]) -> None:
        """Settle these after the current message is answered (once each)."""
        for transaction_id in transaction_ids:
            if transaction_id not in self._queued:
                self._queued.add(transaction_id)
                self._queue.put_nowait(transaction_id)
                self._idle.clear()
        if self._queued and (self._worker is None or self._worker.done()):
            self._worker = asyncio.create_task(self._work(), name="ocpp-settle")

    async def _work(self) -> None:
        while True:
            transaction_id = await self._queue.get()
            try:
                await self._settle(transaction_id)
            except Exception as exc:  # the database is away: the sweep settles it later
                log.warning("ocpp_settle_deferred", transaction=transaction_id, error=repr(exc))
            finally:
                self._queued.discard(transaction_id)
                if not self._queued:
                    self._idle.set()

    async def idle(self) -> None:
        """Returns when every session handed over so far is settled (or deferred)."""
        await self._idle.wait()

    async def close(self, patience: float = 5.0) -> None:
        """Let what is queued finish for a moment, then stop (the sweep does the rest)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), timeout=patience)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
