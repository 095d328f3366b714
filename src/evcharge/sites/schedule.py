"""Replanning without an operator: one process at a time runs the schedule.

Leadership: on PostgreSQL a session-level advisory lock held on a connection of its own
(it goes when the process or its connection dies); on SQLite an exclusive file lock next
to the database file (the kernel drops it when the process dies). Every process polls for
the lock, so another takes over within about one poll interval.

Each tick of the leader: areas whose prices changed since the last tick are replanned;
and once per slot boundary (every quarter hour) the gateways whose plans no longer fit
are replanned: a Smart plan past its deadline (it expires), a device that reports
meter readings and is behind its plan (a missed slot, energy behind plan), or one whose
readings arrived since its plan was computed (a charging car's plan shrinks as it charges).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from evcharge.charging_info.models import ChargingInformation
from evcharge.config import Settings
from evcharge.db import unit_of_work
from evcharge.plans import service as plans
from evcharge.plans.context import PlanContext
from evcharge.plans.models import ChargePlan
from evcharge.plans.progress import Reading, charged
from evcharge.prices.models import PriceArea
from evcharge.registry.models import ChargingDevice
from evcharge.sites.repository import readings_since

log = structlog.get_logger("evcharge.schedule")

#: Arbitrary constant: the advisory lock key of the schedule ("evcharge" in ASCII).
ADVISORY_KEY = 0x65766368617267
SLOT = timedelta(minutes=15)
#: Behind plan by more than this (kWh) counts as drift.
DRIFT_KWH = 0.05


class Leadership(Protocol):
    async def try_acquire(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def release(self) -> None: ...


class PostgresLeadership:
    """pg_try_advisory_lock on a connection kept open while leading."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        connection = await self.engine.connect()
        try:
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            )
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        if got:
            self.connection = connection
            return True
        await connection.close()
        return False

    async def still_held(self) -> bool:
        if self.connection is None:
            return False
        try:
            await self.connection.execute(text("SELECT 1"))
            await self.connection.commit()
        except Exception:
            await self.release()
            return False
        return True

    async def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                await connection.commit()
            with contextlib.suppress(Exception):
                await connection.close()


class FileLeadership:
    """An exclusive, non-blocking flock on `<database>.schedule.lock`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] | None = None

    async def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.handle = handle
        return True

    async def still_held(self) -> bool:
        return self.handle is not None

    async def release(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


class AlwaysLeader:
    """In-memory SQLite: one process by construction."""

    async def try_acquire(self) -> bool:
        return True

    async def still_held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def leadership_for(settings: Settings, engine: AsyncEngine) -> Leadership:
    if not settings.is_sqlite:
        return PostgresLeadership(engine)
    path = settings.sqlite_path
    if path is None:
        return AlwaysLeader()
    return FileLeadership(path.with_name(path.name + ".schedule.lock"))


def leader_probe(
    settings: Settings, engine: AsyncEngine, state: ScheduleState
) -> Callable[[], Awaitable[str | None]]:
    """For /readyz (`app.state.scheduler_leader`): who runs the schedule now, or None.

    This process when it leads; otherwise whoever holds the lock: on PostgreSQL the
    backend holding the advisory lock (pg_locks splits a bigint key into classid/objid),
    on SQLite whoever keeps the file lock (a shared lock cannot be had while it is held)."""
    me = f"{socket.gethostname()}:{os.getpid()}"

    async def probe() -> str | None:
        if not settings.schedule_enabled:
            return None
        if state.leading:
            return me
        if not settings.is_sqlite:
            async with engine.connect() as connection:
                backend = await connection.scalar(
                    text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND classid = :high AND objid = :low AND objsubid = 1"
                    ),
                    {"high": ADVISORY_KEY >> 32, "low": ADVISORY_KEY & 0xFFFFFFFF},
                )
            return None if backend is None else f"database backend {backend}"
        path = settings.sqlite_path
        if path is None:
            return None
        lock = path.with_name(path.name + ".schedule.lock")
        if not lock.exists():
            return None
        with lock.open("rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return "another process of this host"
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None

    return probe


@dataclass
class ScheduleState:
    """What the schedule has done; /healthz shows `leading`."""

    leading: bool = False
    ticks: int = 0
    prices_seen: dict[str, datetime] = field(default_factory=dict)
    last_boundary: datetime | None = None
    replanned: int = 0


def slot_boundary(now: datetime) -> datetime:
    """The latest quarter-hour boundary at or before `now`."""
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


async def changed_price_areas(session: AsyncSession, state: ScheduleState) -> list[str]:
    """Areas whose prices changed since the last look (the first look only remembers)."""
    rows = (await session.execute(select(PriceArea.area, PriceArea.updated))).all()
    first = not state.prices_seen and state.ticks == 0
    changed = [a for a, when in rows if not first and state.prices_seen.get(a) != when]
    state.prices_seen = {str(a): when for a, when in rows}
    return changed


def planned_before(slots: list[dict[str, Any]], now: datetime) -> float:
    """Energy a stored plan put before `now`."""
    total = 0.0
    for s in slots:
        start, end = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        if start >= now:
            continue
        share = 1.0 if end <= now else (now - start) / (end - start)
        total += float(s["energy_kwh"]) * share
    return total


async def gateways_off_plan(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Gateways with a plan that no longer fits: past its Smart deadline and not yet
    expired, or behind plan according to the device's meter readings."""
    rows = (
        await session.execute(
            select(ChargePlan, ChargingDevice.gateway_id, ChargingInformation.created)
            .join(ChargingDevice, ChargingDevice.id == ChargePlan.device_id)
            .join(ChargingInformation, ChargingInformation.device_id == ChargePlan.device_id)
            .where(
                (ChargePlan.start_time < now)
                | ((ChargePlan.deadline <= now) & (ChargePlan.created < ChargePlan.deadline))
            )
        )
    ).all()
    due: set[uuid.UUID] = set()
    watch: dict[uuid.UUID, tuple[ChargePlan, uuid.UUID]] = {}
    since: dict[uuid.UUID, datetime] = {}
    for plan, gateway_id, info_created in rows:
        # Computed before its deadline, which has passed: it expires now.
        if plan.deadline is not None and plan.created < plan.deadline <= now:
            due.add(gateway_id)
            continue
        if plan.start_time is not None and plan.start_time < now:
            watch[plan.device_id] = (plan, gateway_id)
            current = since.get(plan.device_id)
            since[plan.device_id] = info_created if current is None else max(current, info_created)
    readings = await readings_since(session, since)
    for device_id, (plan, gateway_id) in watch.items():
        series = readings.get(device_id, [])
        if not series:
            continue  # no telemetry: nothing says the device is off plan
        now_charged = charged([Reading(r.timestamp, r.energy_kwh, r.soc) for r in series])
        at_plan = float(plan.energy_charged_kwh or 0)
        if now_charged - at_plan < planned_before(plan.slots, now) - DRIFT_KWH:
            due.add(gateway_id)
        elif series[-1].timestamp > plan.created:
            # Live energy (OCPP MeterValues) arrived since the plan: it shrinks by it.
            due.add(gateway_id)
    return sorted(due)


async def tick(
    sessions: async_sessionmaker[AsyncSession],
    context: PlanContext,
    state: ScheduleState,
) -> int:
    """One round of the leader; returns how many plans were recomputed."""
    count = 0
    async with unit_of_work(sessions) as session:
        areas = await changed_price_areas(session, state)
    for area in areas:
        async with unit_of_work(sessions) as session:
            count += await plans.replan_area(session, area, context)
        log.info("schedule replanned area", area=area)
    boundary = slot_boundary(context.now)
    if state.last_boundary != boundary:
        async with unit_of_work(sessions) as session:
            gateway_ids = await gateways_off_plan(session, context.now)
        for first in range(0, len(gateway_ids), plans.CHUNK):
            async with unit_of_work(sessions) as session:
                rows = await plans.replan_gateways(
                    session, gateway_ids[first : first + plans.CHUNK], context, "Schedule"
                )
            count += len(rows)
        if gateway_ids:
            log.info("schedule replanned gateways", gateways=len(gateway_ids))
        state.last_boundary = boundary
    state.ticks += 1
    state.replanned += count
    return count


async def run_schedule(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    state: ScheduleState,
    stop: asyncio.Event,
) -> None:
    """Poll for leadership; while leading, tick every `schedule_interval_seconds`."""
    leadership = leadership_for(settings, engine)
    interval = settings.schedule_interval_seconds
    try:
        while not stop.is_set():
            try:
                if state.leading and not await leadership.still_held():
                    state.leading = False
                    log.warning("schedule leadership lost", pid=os.getpid())
                if not state.leading and await leadership.try_acquire():
                    state.leading = True
                    log.info("schedule leader", pid=os.getpid())
                if state.leading:
                    context = PlanContext(now=clock(), efficiency=settings.charging_efficiency)
                    await tick(sessions, context, state)
            except Exception as exc:  # the database is away or a replan failed: retry later
                log.warning("schedule tick failed", error=f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
    finally:
        await leadership.release()
        state.leading = False
