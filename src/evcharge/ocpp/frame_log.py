"""The OCPP message log: every frame in and out, per charger, with time and direction.

The frame hook runs on the hot path of every message, so it only appends to a list in
memory; a background task inserts what gathered every `FLUSH_SECONDS` in one transaction
(the group commit of `meter_writer.py`, without the wait: the log is for debugging, a
crash loses at most the last fraction of a second of it, never anything billed).
Bounded twice: a frame keeps at most `EVCHARGE_OCPP_LOG_FRAME_CHARS` characters (its full
size is stored with it), and at most `MAX_PENDING` frames wait in memory while the
database is away (the oldest are dropped first, and counted)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from evcharge.ocpp.connection import Direction
from evcharge.ocpp.models import Frame

log = structlog.get_logger("evcharge.ocpp.frames")
frames = cast(Table, Frame.__table__)

FLUSH_SECONDS = 0.25
MAX_BATCH = 5_000
MAX_PENDING = 100_000
PURGE_BATCH = 5_000
PURGE_ROUNDS = 20
"""Rows deleted per sweep at most: PURGE_BATCH × PURGE_ROUNDS (the rest next sweep)."""


class FrameLog:
    def __init__(
        self, engine: AsyncEngine, clock: Callable[[], datetime], max_chars: int, enabled: bool
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.max_chars = max_chars
        self.enabled = enabled
        self.dropped = 0
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def hook(self, charge_point_id: str, direction: Direction, frame: str) -> None:
        """The `FrameHook`: no I/O, no await."""
        if not self.enabled:
            return
        self._pending.append(
            {
                "charge_point_id": charge_point_id,
                "at": self.clock(),
                "direction": direction,
                "frame": frame[: self.max_chars],
                "size": len(frame),
            }
        )
        if len(self._pending) > MAX_PENDING:
            excess = len(self._pending) - MAX_PENDING
            del self._pending[:excess]
            self.dropped += excess
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ocpp-frame-log")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(FLUSH_SECONDS)  # gather what arrives meanwhile
            self._wake.clear()
            if not await self.flush():
                await asyncio.sleep(1.0)  # the database is away: retry, do not spin
                self._wake.set()

    async def flush(self) -> bool:
        """Insert what is pending; False when the database refused (it stays pending)."""
        async with self._lock:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                try:
                    async with self.engine.begin() as connection:
                        await connection.execute(insert(frames), batch)
                except Exception as exc:
                    log.warning("ocpp_frame_log_deferred", frames=len(batch), error=repr(exc))
                    return False
                del self._pending[: len(batch)]
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()


async def purge(session: AsyncSession, before: datetime) -> int:
    """Delete frames older than `before`, oldest first, in bounded batches."""
    deleted = 0
    for _ in range(PURGE_ROUNDS):
        ids = select(Frame.id).where(Frame.at < before).order_by(Frame.id).limit(PURGE_BATCH)
        result = await session.execute(
            delete(Frame).where(Frame.id.in_(ids)).execution_options(synchronize_session=False)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if count < PURGE_BATCH:
            break
    return deleted


MESSAGE_TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}


def describe(frame: str) -> tuple[str | None, str | None, str | None]:
    """(message type, message id, action) of a stored frame, as far as it can be read
    (a shortened or malformed frame may say nothing)."""
    try:
        parsed = json.loads(frame)
    except ValueError:
        return None, None, None
    if not isinstance(parsed, list) or len(parsed) < 3 or not isinstance(parsed[0], int):
        return None, None, None
    kind = MESSAGE_TYPES.get(parsed[0])
    message_id = parsed[1] if isinstance(parsed[1], str) else None
    action = parsed[2] if kind == "CALL" and isinstance(parsed[2], str) else None
    return kind, message_id, action
