"""Order queries. The insert is one statement that is also the rule check: it takes the
device and the customer from their tables (so they must exist), carries the energy
limit in its WHERE, and relies on constraints for the rest (unique client Id; on
PostgreSQL the exclusion constraint, on SQLite a NOT EXISTS inside the write lock)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]  # no stubs; used on the hot path only
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    Table,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from evcharge.db import (
    QUANTITY_SCALE,
    Quantity,
    connection_lost,
    database_unavailable,
    database_unreachable,
)
from evcharge.orders.models import FROM_API, ChargeOrder
from evcharge.registry.models import ChargingDevice, Customer

orders = cast(Table, ChargeOrder.__table__)
devices = cast(Table, ChargingDevice.__table__)
customers = cast(Table, Customer.__table__)

OrderRow = Any
"""A Core row of charge_orders (attribute access by column name)."""

Db = AsyncSession | AsyncConnection
"""Queries run on the Session of a read endpoint or the bare connection of CreateOrder."""


@dataclass(frozen=True, slots=True)
class OrderContent:
    """What an order says, in canonical form (UTC instants, exact decimals): two
    requests with one Id are "the same" exactly when their contents are equal."""

    device_id: uuid.UUID
    customer_id: uuid.UUID
    start_time: datetime
    end_time: datetime
    electric_quantity: Decimal | None
    discount_price: Decimal
    remark: str | None
    start_time_100ns: int = 0
    end_time_100ns: int = 0
    """The 7th fractional digit of each time: part of the content (idempotency)."""


def overlaps(
    start_col: Any, end_col: Any, start: Any, end: Any, *, point: bool
) -> ColumnElement[bool]:
    """Stored order [start_col, end_col) meets the new order: ranges are half-open, and
    a zero-length order (`point`, or start_col = end_col) occupies its one instant.
    The exclusion constraint of migration 0002 says the same with tstzrange '[)' / '[]'."""
    stored_point_at_start = and_(start_col == start, end_col == start)
    begins_before_end = start_col <= start if point else start_col < end
    return and_(begins_before_end, or_(end_col > start, stored_point_at_start))


_P = {
    "id": bindparam("p_id", type_=orders.c.id.type),
    "client_id": bindparam("p_client_id", type_=orders.c.client_id.type),
    "device_id": bindparam("p_device_id", type_=orders.c.device_id.type),
    "customer_id": bindparam("p_customer_id", type_=orders.c.customer_id.type),
    "start_time": bindparam("p_start_time", type_=orders.c.start_time.type),
    "end_time": bindparam("p_end_time", type_=orders.c.end_time.type),
    "electric_quantity": bindparam("p_electric_quantity", type_=Quantity()),
    "discount_price": bindparam("p_discount_price", type_=Quantity()),
    "remark": bindparam("p_remark", type_=orders.c.remark.type),
    "created": bindparam("p_created", type_=orders.c.created.type),
    "start_time_100ns": bindparam("p_start_time_100ns", type_=orders.c.start_time_100ns.type),
    "end_time_100ns": bindparam("p_end_time_100ns", type_=orders.c.end_time_100ns.type),
    "source": bindparam("p_source", type_=orders.c.source.type),
}
_MIN_POWER = bindparam("p_min_power", type_=Quantity())


class Insert(enum.Enum):
    """What the one-statement insert did."""

    STORED = "stored"
    NOT_STORED = "not stored"  # Id taken, device/customer/energy check failed, overlap,
    # (a group) its device held by another transaction, or a race (a deadlock, a device
    # or customer deleted meanwhile): the caller diagnoses, then tries again


_PG_INSERT = """
INSERT INTO charge_orders (id, client_id, device_id, customer_id, start_time, end_time,
                           electric_quantity, discount_price, remark, created,
                           start_time_100ns, end_time_100ns, source)
SELECT o.id, o.client_id, d.id, c.id, o.start_time, o.end_time,
       o.electric_quantity, o.discount_price, o.remark, o.created, o.start_100ns, o.end_100ns,
       o.source
FROM unnest($1::uuid[], $2::varchar[], $3::timestamptz[], $4::timestamptz[], $5::numeric[],
            $6::numeric[], $7::varchar[], $8::timestamptz[], $9::uuid[], $10::uuid[],
            $11::numeric[], $12::smallint[], $13::smallint[], $14::varchar[])
     WITH ORDINALITY
     AS o(id, client_id, start_time, end_time, electric_quantity, discount_price, remark,
          created, device_id, customer_id, min_power, start_100ns, end_100ns, source, arrival)
JOIN charging_devices AS d ON d.id = o.device_id AND d.max_power_kw >= o.min_power
JOIN customers AS c ON c.id = o.customer_id
ORDER BY d.id, o.arrival
FOR NO KEY UPDATE OF d {wait} FOR KEY SHARE OF c {wait}
ON CONFLICT DO NOTHING
RETURNING id
"""
"""The PostgreSQL hot path, for one order or many (`GroupInsert`): each order's device
and customer must exist and the device must be strong enough (the joins), its Id is
unique and it overlaps no order of its device (ON CONFLICT DO NOTHING covers the unique
Id and the exclusion constraint alike) — one round trip, autocommit (a single statement
is atomic). An order it leaves out is diagnosed afterwards, one by one.

The row locks are taken before the rows are inserted, in the order of the device's id
(ORDER BY below FOR … : the rows are locked and inserted as they come out of the sort),
so two statements over the same devices take turns instead of deadlocking; the orders
of one device go in as they arrived (of two overlapping ones, the first is stored).
The device's lock (NO KEY UPDATE, which foreign-key checks and replans do not wait for)
makes the orders of one device take turns: without it, simultaneous overlapping
inserts each waited on the other's uncommitted row in the exclusion check and
deadlocked (seen with 4 workers).
With the customer's (KEY SHARE), a DELETE of either in progress is waited for and then
finds the order, or wins and the join finds nothing — never the deadlock of the foreign
key's check locking it after the insert.

`PG_INSERT_GROUP` skips a row whose device or customer another transaction has locked
(a replan, a device PUT, a DELETE): the orders of one busy device never hold up those
of the others in their group. A skipped order is one left out; its own attempt
(`PG_INSERT`) then waits for the lock."""

PG_INSERT = _PG_INSERT.format(wait="")
PG_INSERT_GROUP = _PG_INSERT.format(wait="SKIP LOCKED")


@cache
def _sqlite_insert(point: bool) -> Any:
    """The same statement for SQLite, which has no exclusion constraint: the overlap
    check is part of the insert, and BEGIN IMMEDIATE (evcharge.db) makes the write
    transaction the only one. Built once per variant for SQLAlchemy's compiled cache."""
    other = orders.alias("other")
    clash = overlaps(
        other.c.start_time, other.c.end_time, _P["start_time"], _P["end_time"], point=point
    )
    source = (
        select(
            _P["id"],
            _P["client_id"],
            devices.c.id,
            customers.c.id,
            _P["start_time"],
            _P["end_time"],
            _P["electric_quantity"],
            _P["discount_price"],
            _P["remark"],
            _P["created"],
            _P["start_time_100ns"],
            _P["end_time_100ns"],
            _P["source"],
        )
        .select_from(devices.join(customers, true()))  # one row when both exist
        .where(
            devices.c.id == _P["device_id"],
            customers.c.id == _P["customer_id"],
            devices.c.max_power_kw >= _MIN_POWER,
            ~exists().where(other.c.device_id == _P["device_id"], clash),
        )
    )
    return (
        sqlite.insert(orders)
        .from_select(list(_P), source)
        .on_conflict_do_nothing(index_elements=["client_id"])
        .returning(orders.c.id)
    )


@dataclass(frozen=True, slots=True)
class NewOrder:
    """What one insert stores: the content, its Id, the least MaxPowerKw its energy needs,
    when, and where it came from (ChargeOrder.source)."""

    client_id: str
    content: OrderContent
    min_power: Decimal
    created: datetime
    source: str = FROM_API


async def insert(connection: AsyncConnection, new: NewOrder) -> Insert:
    """Store the order in one statement if every rule the database can check holds."""
    if connection.dialect.name == "postgresql":
        return await _insert_postgresql(connection, new)
    content = new.content
    params = {
        "p_id": uuid.uuid4(),
        "p_client_id": new.client_id,
        "p_device_id": content.device_id,
        "p_customer_id": content.customer_id,
        "p_start_time": content.start_time,
        "p_end_time": content.end_time,
        "p_electric_quantity": content.electric_quantity,
        "p_discount_price": content.discount_price,
        "p_remark": content.remark,
        "p_created": new.created,
        "p_min_power": new.min_power,
        "p_start_time_100ns": content.start_time_100ns,
        "p_end_time_100ns": content.end_time_100ns,
        "p_source": new.source,
    }
    statement = _sqlite_insert(content.start_time == content.end_time)
    result = await connection.execute(statement, params)
    return Insert.STORED if result.first() is not None else Insert.NOT_STORED


async def _insert_postgresql(connection: AsyncConnection, new: NewOrder) -> Insert:
    # Measured: SQLAlchemy's execution layer costs about as much CPU as asyncpg's whole
    # round trip, so this one statement goes to the driver directly, on the pooled
    # connection of the request's unit of work. No transaction is open on it yet (the
    # adapter begins lazily), so the statement commits by itself.
    if connection.in_transaction():
        # Checks before it (a customer key's ownership, a diagnosis before a retry) only
        # read: end their transaction, so a refused insert cannot abort one that is still
        # read in (the 500 of an overlapping order sent with a customer key).
        await connection.rollback()
    raw = await connection.get_raw_connection()
    try:
        (outcome,) = await insert_postgresql(raw.driver_connection, [new])
        return outcome
    except Exception as exc:
        if not (database_unreachable(exc) or connection_lost(exc)):
            raise
        # The pool must not hand this connection out again; the database is away.
        await connection.invalidate()
        raise database_unavailable() from exc


async def insert_postgresql(
    driver: asyncpg.Connection, news: Sequence[NewOrder], *, group: bool = False
) -> list[Insert]:
    """`PG_INSERT` of these orders (`PG_INSERT_GROUP` for a `group`) on a driver
    connection with no transaction open (it commits by itself); what it did with each,
    in their order. A lost connection's error is left to the caller, who owns the
    connection."""
    ids = [uuid.uuid4() for _ in news]
    columns: tuple[list[Any], ...] = tuple([] for _ in range(13))
    for new in news:
        content = new.content
        values = (
            new.client_id,
            content.start_time,
            content.end_time,
            content.electric_quantity,
            content.discount_price,
            content.remark,
            new.created,
            content.device_id,
            content.customer_id,
            new.min_power,
            content.start_time_100ns,
            content.end_time_100ns,
            new.source,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    try:
        rows = await driver.fetch(PG_INSERT_GROUP if group else PG_INSERT, ids, *columns)
    except (
        asyncpg.DeadlockDetectedError,
        asyncpg.SerializationError,
        asyncpg.ForeignKeyViolationError,  # a device or customer was deleted meanwhile
    ):
        return [Insert.NOT_STORED] * len(news)
    except asyncpg.DataError:
        # A value the database refuses fails the whole statement: in a group, each order
        # is then tried alone, so only the one that carries it is refused.
        if len(news) == 1:
            raise
        return [Insert.NOT_STORED] * len(news)
    stored = {row[0] for row in rows}
    return [Insert.STORED if id_ in stored else Insert.NOT_STORED for id_ in ids]


async def by_client_id(db: Db, client_id: str) -> OrderRow | None:
    return (await db.execute(select(orders).where(orders.c.client_id == client_id))).first()


def content_of(row: OrderRow) -> OrderContent:
    return OrderContent(
        device_id=row.device_id,
        customer_id=row.customer_id,
        start_time=row.start_time,
        end_time=row.end_time,
        electric_quantity=row.electric_quantity,
        discount_price=row.discount_price,
        remark=row.remark,
        start_time_100ns=row.start_time_100ns or 0,
        end_time_100ns=row.end_time_100ns or 0,
    )


async def device_power(db: Db, device_id: uuid.UUID) -> Decimal | None:
    power: Decimal | None = await db.scalar(
        select(devices.c.max_power_kw).where(devices.c.id == device_id)
    )
    return power


async def customer_exists(db: Db, customer_id: uuid.UUID) -> bool:
    found = await db.scalar(select(customers.c.id).where(customers.c.id == customer_id))
    return found is not None


async def colliding(
    db: Db, device_id: uuid.UUID, start: datetime, end: datetime
) -> OrderRow | None:
    """The first stored order of the device that the range [start, end) would overlap."""
    clash = overlaps(orders.c.start_time, orders.c.end_time, start, end, point=start == end)
    query = (
        select(orders)
        .where(orders.c.device_id == device_id, clash)
        .order_by(orders.c.start_time)
        .limit(1)
    )
    return (await db.execute(query)).first()


@dataclass(frozen=True, slots=True)
class Filters:
    customer_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None


def _where(filters: Filters, *, by_start: bool) -> list[ColumnElement[bool]]:
    """Listing: orders overlapping [start, end). Summary (`by_start`): orders that
    start in [start, end), so adjacent ranges never count an order twice."""
    where: list[ColumnElement[bool]] = []
    if filters.customer_id is not None:
        where.append(orders.c.customer_id == filters.customer_id)
    if filters.device_id is not None:
        where.append(orders.c.device_id == filters.device_id)
    if by_start:
        if filters.start is not None:
            where.append(orders.c.start_time >= filters.start)
        if filters.end is not None:
            where.append(orders.c.start_time < filters.end)
        return where
    if filters.start is not None and filters.end is not None:
        where.append(
            overlaps(
                orders.c.start_time,
                orders.c.end_time,
                filters.start,
                filters.end,
                point=filters.start == filters.end,
            )
        )
    elif filters.start is not None:
        where.append(
            or_(
                orders.c.end_time > filters.start,
                and_(orders.c.start_time == filters.start, orders.c.end_time == filters.start),
            )
        )
    elif filters.end is not None:
        where.append(orders.c.start_time < filters.end)
    return where


async def page(
    session: AsyncSession, filters: Filters, *, number: int, size: int
) -> tuple[Sequence[OrderRow], int]:
    """One page, newest (latest StartTime) first, and the total count."""
    where = _where(filters, by_start=False)
    total = await session.scalar(select(func.count()).select_from(orders).where(*where))
    query = (
        select(orders)
        .where(*where)
        .order_by(orders.c.start_time.desc(), orders.c.created.desc(), orders.c.client_id)
        .offset((number - 1) * size)
        .limit(size)
    )
    rows = (await session.execute(query)).all()
    return rows, int(total or 0)


_MILLION = 10**QUANTITY_SCALE


def _exact_sums(column: Any, dialect: str) -> list[Any]:
    """SUM of a Quantity column that cannot overflow or round: PostgreSQL's numeric sum is
    exact at any size (read raw, not through Quantity); SQLite's integer SUM overflows at
    2^63 millionths (9.2·10^12), so it adds whole units and millionths apart (exact up
    to 9.2·10^18 units per group)."""
    if dialect == "postgresql":
        return [func.sum(type_coerce(column, Numeric()))]
    raw = type_coerce(column, BigInteger())
    return [func.sum(raw // _MILLION), func.sum(raw % _MILLION)]


def _sum_value(parts: Sequence[Any]) -> Decimal:
    if len(parts) == 1:
        return Decimal(parts[0] or 0)
    units, millionths = (int(p or 0) for p in parts)
    return Decimal(f"{units * _MILLION + millionths}e-{QUANTITY_SCALE}")


@dataclass(frozen=True, slots=True)
class Totals:
    key: Any
    order_count: int
    electric_quantity: Decimal
    discount_price: Decimal


async def totals_by(session: AsyncSession, key: Any, filters: Filters) -> list[Totals]:
    """(key, count, energy, discount) per key, summed exactly by the database."""
    dialect = session.get_bind().dialect.name
    energy = _exact_sums(orders.c.electric_quantity, dialect)
    discount = _exact_sums(orders.c.discount_price, dialect)
    query = (
        select(key, func.count(), *energy, *discount)
        .where(*_where(filters, by_start=True))
        .group_by(key)
        .order_by(key)
    )
    width = len(energy)
    return [
        Totals(
            key=row[0],
            order_count=int(row[1]),
            electric_quantity=_sum_value(row[2 : 2 + width]),
            discount_price=_sum_value(row[2 + width :]),
        )
        for row in (await session.execute(query)).all()
    ]


async def stream_for_days(session: AsyncSession, filters: Filters) -> AsyncIterator[OrderRow]:
    """(start_time, energy, discount) of each order, for grouping by local day."""
    query = select(orders.c.start_time, orders.c.electric_quantity, orders.c.discount_price).where(
        *_where(filters, by_start=True)
    )
    result = await session.stream(query.execution_options(yield_per=1000))
    async for row in result:
        yield row
