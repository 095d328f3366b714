"""Price rules: an upload is an unbroken series that replaces exactly its own range."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.db import utcnow
from evcharge.errors import Conflict, Invalid, NotFound
from evcharge.planning import PriceSeriesError, PriceSlot, validate_price_slots
from evcharge.prices import schemas
from evcharge.prices.models import PriceArea, PriceSlotRow
from evcharge.prices.repository import overlapping

MAX_READ_RANGE = timedelta(days=31)


def _validate(body: schemas.PriceSeriesPut) -> None:
    try:
        validate_price_slots([PriceSlot(s.start, s.end, float(s.price)) for s in body.slots])
    except PriceSeriesError as exc:
        raise Invalid(errors={f"request.Slots[{exc.index}]": [exc.message]}) from None


async def replace(
    session: AsyncSession, area: str, body: schemas.PriceSeriesPut
) -> tuple[datetime, datetime]:
    """Store the upload; stored slots inside its range go, slots that straddle an edge are
    cut at that edge. Returns the replaced range."""
    _validate(body)
    start, end = body.slots[0].start, body.slots[-1].end
    stored = await session.get(PriceArea, area, with_for_update=True)
    if stored is None:
        # Two first uploads of an area at once: one inserts, the other waits for it and
        # then locks the row it made (an upload is a replace, never a 409 or 500).
        insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert_(PriceArea)
            .values(area=area, currency=body.currency, updated=utcnow())
            .on_conflict_do_nothing(index_elements=["area"])
        )
        stored = await session.get(PriceArea, area, with_for_update=True, populate_existing=True)
        assert stored is not None
    if stored.currency != body.currency:
        outside = await session.scalar(
            select(PriceSlotRow.start)
            .where(
                PriceSlotRow.area == area, (PriceSlotRow.end <= start) | (PriceSlotRow.start >= end)
            )
            .limit(1)
        )
        if outside is not None:
            raise Conflict(
                errors={
                    "request.Currency": [
                        f"Price area {area} is priced in {stored.currency}; an upload in "
                        f"{body.currency} must replace all of its slots."
                    ]
                }
            )
        stored.currency = body.currency
    if stored is not None:
        stored.updated = utcnow()  # the area's last import time (the console shows it)
    remainders: list[dict[str, object]] = []
    for row in await overlapping(session, area, start, end):
        if row.start < start:
            if row.end > end:
                remainders.append({"area": area, "start": end, "end": row.end, "price": row.price})
            row.end = start
        elif row.end > end:
            remainders.append({"area": area, "start": end, "end": row.end, "price": row.price})
            await session.delete(row)
        else:
            await session.delete(row)
    await session.flush()
    new_rows = [
        {"area": area, "start": s.start, "end": s.end, "price": s.price} for s in body.slots
    ]
    await session.execute(insert(PriceSlotRow), new_rows + remainders)
    return start, end


async def series(
    session: AsyncSession, area: str, start: datetime, end: datetime
) -> schemas.PriceSeries:
    if end <= start:
        raise Invalid(errors={"to": ["to must be after from."]})
    if end - start > MAX_READ_RANGE:
        raise Invalid(errors={"to": [f"At most {MAX_READ_RANGE.days} days per request."]})
    stored = await session.get(PriceArea, area)
    if stored is None:
        raise NotFound(f"No prices are known for price area {area}.")
    rows = await overlapping(session, area, start, end)
    return schemas.PriceSeries(
        price_area=area,
        currency=stored.currency,
        slots=[schemas.PriceSlotOut(start=r.start, end=r.end, price=r.price) for r in rows],
    )


async def is_empty(session: AsyncSession) -> bool:
    return await session.scalar(select(PriceSlotRow.area).limit(1)) is None
