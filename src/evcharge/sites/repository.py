"""Queries of capacity schedules and meter readings."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.planning import CapacitySlot as PlannerCapacity
from evcharge.sites.models import CapacitySlot, MeterReading

BASELINE_LOOKBACK = timedelta(days=1)


async def capacity_overlapping(
    session: AsyncSession, gateway_id: uuid.UUID, start: datetime, end: datetime
) -> list[CapacitySlot]:
    rows = await session.scalars(
        select(CapacitySlot)
        .where(
            CapacitySlot.gateway_id == gateway_id,
            CapacitySlot.start < end,
            CapacitySlot.end > start,
        )
        .order_by(CapacitySlot.start)
    )
    return list(rows)


async def capacity_for_planning(
    session: AsyncSession, gateway_ids: Sequence[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, list[PlannerCapacity]]:
    """Each gateway's capacity slots overlapping [start, end), for the planner."""
    found: dict[uuid.UUID, list[PlannerCapacity]] = defaultdict(list)
    if not gateway_ids:
        return found
    rows = await session.scalars(
        select(CapacitySlot)
        .where(
            CapacitySlot.gateway_id.in_(gateway_ids),
            CapacitySlot.start < end,
            CapacitySlot.end > start,
        )
        .order_by(CapacitySlot.gateway_id, CapacitySlot.start)
    )
    for row in rows:
        found[row.gateway_id].append(PlannerCapacity(row.start, row.end, float(row.power_kw)))
    return found


async def readings_since(
    session: AsyncSession, since: dict[uuid.UUID, datetime]
) -> dict[uuid.UUID, list[MeterReading]]:
    """Per device: its readings after `since[device]`, preceded by the last one at or
    before it (the baseline the energy charged since is counted from), in time order."""
    found: dict[uuid.UUID, list[MeterReading]] = defaultdict(list)
    if not since:
        return found
    ids = list(since)
    earliest = min(since.values())
    rows = await session.scalars(
        select(MeterReading)
        .where(MeterReading.device_id.in_(ids), MeterReading.timestamp > earliest)
        .order_by(MeterReading.device_id, MeterReading.timestamp)
    )
    for row in rows:
        if row.timestamp > since[row.device_id]:
            found[row.device_id].append(row)
    if not found:
        return found  # nothing counted since: no baseline needed
    # The baseline: the newest reading at or before each device's time (looked for in
    # the day before it; without one, counting starts at the first reading after it).
    candidates = await session.execute(
        select(MeterReading.device_id, MeterReading.timestamp)
        .where(
            MeterReading.device_id.in_(ids),
            MeterReading.timestamp <= max(since.values()),
            MeterReading.timestamp >= earliest - BASELINE_LOOKBACK,
        )
        .order_by(MeterReading.device_id, MeterReading.timestamp)
    )
    newest: dict[uuid.UUID, datetime] = {}
    for device_id, moment in candidates:
        if moment <= since[device_id]:
            newest[device_id] = moment
    if newest:
        keys = list(newest.items())
        for row in await session.scalars(
            select(MeterReading).where(
                tuple_(MeterReading.device_id, MeterReading.timestamp).in_(keys)
            )
        ):
            found[row.device_id].insert(0, row)
    return found
