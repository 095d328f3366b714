"""Ended sessions become orders after the charger has its answer. A StopTransaction (or a
Status/Start that closes a session whose stop never came) is answered as soon as the stop
is stored; turning it into a ChargeOrder (three short units of work through CreateOrder's
service) follows here, in arrival order, a few at a time. Nothing is lost when this
process dies first: a stored, unsettled session is found by the sweep of whichever process
runs next (`CentralSystem.sweep`), and settling is idempotent (the order's Id comes from
the charger and transaction)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

import structlog

log = structlog.get_logger("evcharge.ocpp")


class Settlement:
    """A few workers, on database connections of their own, settling in arrival order.
    Settlement does not queue with the chargers' messages (`CentralSystem._gate`, first
    come first served): in a reconnect storm of 10,000 it waited behind thousands of them
    for each order and fell minutes behind the stops. Each session is three short units
    of work, about ten round trips, and on a busy event loop each round trip waits for
    a turn of the loop: `workers` sessions at a time (measured, one worker made 7 orders
    a second in a 10,000 storm) for as many of the connections the gate leaves free."""

    def __init__(self, settle: Callable[[int], Awaitable[None]], workers: int = 3) -> None:
        self._settle = settle
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._queued: set[int] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._size = workers
        self._idle = asyncio.Event()
        self._idle.set()

    def soon(self, transaction_ids: Iterable[int]) -> None:
        """Settle these after the current message is answered (once each)."""
        for transaction_id in transaction_ids:
            if transaction_id not in self._queued:
                self._queued.add(transaction_id)
                self._queue.put_nowait(transaction_id)
                self._idle.clear()
        self._workers = [w for w in self._workers if not w.done()]
        while self._queued and len(self._workers) < min(self._size, len(self._queued)):
            self._workers.append(asyncio.create_task(self._work(), name="ocpp-settle"))

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
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
