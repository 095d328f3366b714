"""Group commit for MeterValues: every handler waits for its rows to be committed
(nothing is acknowledged before it is durable), but the rows of all chargers that
arrive while one commit runs go to the database together in the next one — one
transaction for hundreds of messages instead of one each."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from evcharge.ocpp.models import MeterValue, Transaction
from evcharge.ocpp.service import TxState
from evcharge.sites.models import MeterReading

meter_values = cast(Table, MeterValue.__table__)
transactions = cast(Table, Transaction.__table__)
meter_readings = cast(Table, MeterReading.__table__)
Pending = tuple[
    list[dict[str, Any]], dict[str, Any] | None, list[dict[str, Any]], "asyncio.Future[None]"
]

MAX_BATCH = 2_000
"""Messages per commit at most (a bound on one transaction's size)."""

_UPDATE = (
    update(transactions)
    .where(transactions.c.id == bindparam("b_id"))
    .values(
        last_meter_wh=bindparam("b_wh", type_=transactions.c.last_meter_wh.type),
        last_activity=bindparam("b_at", type_=transactions.c.last_activity.type),
        flags=bindparam("b_flags", type_=transactions.c.flags.type),
    )
)


class MeterWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._wanted: list[tuple[str, int, asyncio.Future[TxState | None]]] = []
        self._want = asyncio.Event()
        self._loader: asyncio.Task[None] | None = None

    async def write(
        self,
        rows: list[dict[str, Any]],
        state: TxState,
        last_activity: datetime,
        readings: list[dict[str, Any]] | None = None,
    ) -> None:
        """Store the rows, the transaction's new state and the planner's readings
        (`live_energy`); returns once committed."""
        change = {
            "b_id": state.id,
            "b_wh": state.last_meter_wh,
            "b_at": last_activity,
            "b_flags": list(state.flags),
        }
        await self._queue(rows, change, readings or [])

    async def write_readings(self, readings: list[dict[str, Any]]) -> None:
        """Only the planner's readings (MeterValues outside a transaction)."""
        if readings:
            await self._queue([], None, readings)

    async def _queue(
        self,
        rows: list[dict[str, Any]],
        change: dict[str, Any] | None,
        readings: list[dict[str, Any]],
    ) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, change, readings, done))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ocpp-meter-writer")
        await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(self, batch: list[Pending]) -> None:
        rows = [row for item in batch for row in item[0]]
        latest: dict[int, dict[str, Any]] = {}
        readings: dict[tuple[Any, Any], dict[str, Any]] = {}
        for _rows, change, found, _done in batch:  # in arrival order: the last state wins
            if change is not None:
                latest[change["b_id"]] = change
            for reading in found:  # the same timestamp twice: the first is kept
                readings.setdefault((reading["device_id"], reading["timestamp"]), reading)
        try:
            async with self.engine.begin() as connection:
                if rows:
                    await connection.execute(insert(meter_values), rows)
                if latest:
                    await connection.execute(_UPDATE, list(latest.values()))
                if readings:
                    await connection.execute(self._insert_readings(), list(readings.values()))
        except Exception as exc:
            for *_item, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for *_item, done in batch:
            if not done.done():
                done.set_result(None)

    def _insert_readings(self) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(meter_readings).on_conflict_do_nothing(
            index_elements=["device_id", "timestamp"]
        )

    async def close(self) -> None:
        for task in (self._task, self._loader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def state(self, charge_point_id: str, transaction_id: int) -> TxState | None:
        """One of this charger's transactions, read together with the others asked for
        meanwhile (after a reconnect storm, thousands of chargers ask at once)."""
        done: asyncio.Future[TxState | None] = asyncio.get_running_loop().create_future()
        self._wanted.append((charge_point_id, transaction_id, done))
        self._want.set()
        if self._loader is None or self._loader.done():
            self._loader = asyncio.create_task(self._load(), name="ocpp-meter-states")
        return await done

    async def _load(self) -> None:
        while True:
            await self._want.wait()
            self._want.clear()
            while self._wanted:
                batch, self._wanted = self._wanted[:MAX_BATCH], self._wanted[MAX_BATCH:]
                try:
                    found = await load_states(self.engine, {tx for _cp, tx, _f in batch})
                except Exception as exc:
                    for _cp, _tx, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for charge_point_id, transaction_id, done in batch:
                    row = found.get(transaction_id)
                    if not done.done():
                        done.set_result(row[1] if row and row[0] == charge_point_id else None)


async def load_states(engine: AsyncEngine, ids: set[int]) -> dict[int, tuple[str, TxState]]:
    """Transactions by id, with the charger each belongs to."""
    query = select(
        transactions.c.id,
        transactions.c.charge_point_id,
        transactions.c.start_time,
        transactions.c.meter_start_wh,
        transactions.c.last_meter_wh,
        transactions.c.flags,
    ).where(transactions.c.id.in_(sorted(ids)))
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
        if connection.in_transaction():
            await connection.commit()
    return {
        row.id: (
            row.charge_point_id,
            TxState(
                row.id,
                row.start_time,
                Decimal(row.meter_start_wh),
                row.last_meter_wh,
                list(row.flags),
            ),
        )
        for row in rows
    }
