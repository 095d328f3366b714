"""Group insert: the hot-path orders of one process that arrive together are stored
together — one statement, one round trip and one commit for all of them.

An order waits only while the statement already on its way to PostgreSQL is out: alone,
it goes at once; under load, every order that arrived during a round trip goes in the
next one. Each order is still committed before its reply, and the statement decides for
each order on its own (`repository.PG_INSERT_GROUP`): a refused order, or one whose
device another transaction holds, is left out (and then diagnosed, or tried alone),
never holding back the others."""

from __future__ import annotations

import asyncio
import weakref

from sqlalchemy.ext.asyncio import AsyncEngine

from evcharge import metrics
from evcharge.db import database_unavailable, pooled_driver
from evcharge.orders import repository
from evcharge.orders.repository import Insert, NewOrder

LANES = 1
"""Statements out at once per process. One: every order that arrives while it is out
goes in the next (measured with `bench.create_order`: two lanes split a burst into a
group of one and a group of the rest, and made no more orders per second)."""

MOST = 128
"""Orders per statement at most (under a burst the rest go in the next one)."""

Waiting = tuple[NewOrder, "asyncio.Future[Insert]"]


class GroupInsert:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.waiting: list[Waiting] = []
        self.free_lanes = LANES
        self.lanes: set[asyncio.Task[None]] = set()  # referenced while they run

    async def insert(self, new: NewOrder) -> Insert:
        """Store this order with whichever others are waiting; what became of it."""
        future: asyncio.Future[Insert] = asyncio.get_running_loop().create_future()
        self.waiting.append((new, future))
        if self.free_lanes:
            self.free_lanes -= 1
            lane = asyncio.create_task(self._lane())
            self.lanes.add(lane)
            lane.add_done_callback(self.lanes.discard)
        return await future

    async def _lane(self) -> None:
        batch: list[Waiting] = []
        try:
            while self.waiting:
                # One turn of the loop first: the requests whose bytes arrived with
                # this one's are parsed by then and go in the same statement.
                await asyncio.sleep(0)
                batch, self.waiting = self.waiting[:MOST], self.waiting[MOST:]
                await self._store(batch)
        except asyncio.CancelledError:
            # The process is stopping: no order is left without an answer. Those of
            # the statement that was out may be stored: 503, retry with the same Id.
            for _, future in [*batch, *self.waiting]:
                if not future.done():
                    future.set_exception(database_unavailable())
            self.waiting = []
            raise
        finally:
            self.free_lanes += 1

    async def _store(self, batch: list[Waiting]) -> None:
        metrics.order_group(len(batch))
        try:
            async with pooled_driver(self.engine) as driver:
                news = [new for new, _ in batch]
                outcomes = await repository.insert_postgresql(driver, news, group=True)
        except Exception as exc:  # e.g. the database is away (503): each order is told
            for _, future in batch:
                if not future.done():  # a request that went away meanwhile is not
                    future.set_exception(exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)


_per_engine: weakref.WeakKeyDictionary[AsyncEngine, GroupInsert] = weakref.WeakKeyDictionary()


def group_insert(engine: AsyncEngine) -> GroupInsert:
    """The process's group insert into this engine's database."""
    group = _per_engine.get(engine)
    if group is None:
        group = _per_engine[engine] = GroupInsert(engine)
    return group
