"""Price queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.planning import PriceSlot
from evcharge.prices.models import PriceSlotRow


async def overlapping(
    session: AsyncSession, area: str, start: datetime, end: datetime
) -> list[PriceSlotRow]:
    """Stored slots of `area` that overlap [start, end), in time order."""
    rows = await session.scalars(
        select(PriceSlotRow)
        .where(PriceSlotRow.area == area, PriceSlotRow.start < end, PriceSlotRow.end > start)
        .order_by(PriceSlotRow.start)
    )
    return list(rows)


async def known_prices(
    session: AsyncSession, area: str, now: datetime, until: datetime
) -> list[PriceSlot]:
    """The unbroken run of prices that covers `now` (or starts after it) up to `until`:
    a gap ends the run, because the planner reads what follows a gap as unknown."""
    run: list[PriceSlot] = []
    for row in await overlapping(session, area, now, until):
        if run and row.start != run[-1].end:
            break
        run.append(PriceSlot(row.start, row.end, float(row.price)))
    return run
