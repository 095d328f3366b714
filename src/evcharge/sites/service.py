"""Rules of capacity schedules and meter readings; both replan the gateway."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.errors import Conflict, Invalid
from evcharge.plans import service as plans
from evcharge.plans.context import PlanContext
from evcharge.registry.paths import Path
from evcharge.registry.repository import resolve, resolve_for_replan
from evcharge.sites import schemas
from evcharge.sites.models import CapacitySlot, MeterReading
from evcharge.sites.repository import capacity_overlapping

MAX_READ_RANGE = timedelta(days=31)
#: A reading stamped further ahead than this is a clock error, not a measurement.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _validate_capacity(body: schemas.CapacityPut) -> None:
    previous: schemas.CapacitySlotIn | None = None
    for index, slot in enumerate(body.slots):
        field = f"request.Slots[{index}]"
        if slot.end <= slot.start:
            raise Invalid(errors={field: [f"End {slot.end} is not after Start {slot.start}."]})
        if previous is not None and slot.start < previous.end:
            raise Invalid(
                errors={
                    field: [
                        f"Starts at {slot.start}, before slot {index - 1} ends at "
                        f"{previous.end}: slots must be in time order and not overlap."
                    ]
                }
            )
        previous = slot


async def put_capacity(
    session: AsyncSession, path: Path, body: schemas.CapacityPut, planning: PlanContext
) -> schemas.Capacity:
    """Replace the gateway's capacity slots in [first Start, last End) (slots straddling
    an edge are cut at it; gaps are allowed: MaxPowerKw holds there); replan the gateway."""
    _validate_capacity(body)
    chain = await resolve_for_replan(session, path, depth=3)
    gateway = chain.gateway
    assert gateway is not None
    start, end = body.slots[0].start, body.slots[-1].end
    remainders: list[dict[str, object]] = []
    for row in await capacity_overlapping(session, gateway.id, start, end):
        if row.start < start:
            if row.end > end:
                remainders.append(
                    {
                        "gateway_id": gateway.id,
                        "start": end,
                        "end": row.end,
                        "power_kw": row.power_kw,
                    }
                )
            row.end = start
        else:
            if row.end > end:
                remainders.append(
                    {
                        "gateway_id": gateway.id,
                        "start": end,
                        "end": row.end,
                        "power_kw": row.power_kw,
                    }
                )
            await session.delete(row)
    await session.flush()
    rows = [
        {"gateway_id": gateway.id, "start": s.start, "end": s.end, "power_kw": s.power_kw}
        for s in body.slots
    ]
    await session.execute(insert(CapacitySlot), rows + remainders)
    updated = await plans.replan_gateways(session, [gateway.id], planning, trigger="Capacity")
    view = await capacity(session, path, start, end)
    return view.model_copy(update={"plans_updated": len(updated)})


async def capacity(
    session: AsyncSession, path: Path, start: datetime, end: datetime
) -> schemas.Capacity:
    if end <= start:
        raise Invalid(errors={"to": ["to must be after from."]})
    if end - start > MAX_READ_RANGE:
        raise Invalid(errors={"to": [f"At most {MAX_READ_RANGE.days} days per request."]})
    chain = await resolve(session, path, depth=3)
    gateway = chain.gateway
    assert gateway is not None and path.gateway is not None
    rows = await capacity_overlapping(session, gateway.id, start, end)
    return schemas.Capacity(
        gateway_asset_id=path.gateway,
        max_power_kw=gateway.max_power_kw,
        slots=[
            schemas.CapacitySlotOut(start=r.start, end=r.end, power_kw=r.power_kw) for r in rows
        ],
    )


async def clear_capacity(session: AsyncSession, path: Path, planning: PlanContext) -> None:
    """Drop the whole schedule (MaxPowerKw holds everywhere again); replan."""
    chain = await resolve_for_replan(session, path, depth=3)
    gateway = chain.gateway
    assert gateway is not None
    await session.execute(delete(CapacitySlot).where(CapacitySlot.gateway_id == gateway.id))
    await plans.replan_gateways(session, [gateway.id], planning, trigger="Capacity")


async def record_meter_reading(
    session: AsyncSession,
    device_id: uuid.UUID,
    timestamp: datetime,
    energy_kwh: Decimal,
    soc: Decimal | None,
    source: str,
    received: datetime | None = None,
) -> MeterReading:
    """Store what a device reported (the HTTP endpoint and OCPP MeterValues both call
    this; it does not replan: callers replan, or leave it to the schedule). The same
    reading twice is stored once; a different one at the same Timestamp is a 409.
    `energy_kwh` is the register (kWh from the grid), `soc` the car's %, `source` e.g.
    "api" or "ocpp"; `received` defaults to the system clock."""
    received = received or datetime.now(UTC)
    if timestamp > received + FUTURE_TOLERANCE:
        raise Invalid(errors={"request.Timestamp": [f"Timestamp {timestamp} is in the future."]})
    existing = await session.get(MeterReading, (device_id, timestamp))
    if existing is not None:
        if existing.energy_kwh == energy_kwh and existing.soc == soc:
            return existing
        raise Conflict(
            errors={
                "request.Timestamp": [
                    f"A different reading is already stored for {timestamp.isoformat()}."
                ]
            }
        )
    row = MeterReading(
        device_id=device_id,
        timestamp=timestamp,
        energy_kwh=energy_kwh,
        soc=soc,
        source=source,
        received=received,
    )
    session.add(row)
    await session.flush()
    return row


async def post_meter_reading(
    session: AsyncSession, path: Path, body: schemas.MeterReadingIn, planning: PlanContext
) -> schemas.MeterReadingOut:
    """Store a reading and replan the device's gateway (its plan follows what was charged)."""
    chain = await resolve_for_replan(session, path, depth=4)
    assert chain.gateway is not None and chain.device is not None and path.device is not None
    row = await record_meter_reading(
        session, chain.device.id, body.timestamp, body.energy_kwh, body.soc, "api", planning.now
    )
    await plans.replan_gateways(
        session, [chain.gateway.id], planning, trigger="MeterReading", devices=[chain.device.id]
    )
    return schemas.MeterReadingOut(
        device_asset_id=path.device,
        timestamp=row.timestamp,
        energy_kwh=row.energy_kwh,
        soc=row.soc,
        source=row.source,
        received=row.received,
    )
