"""Seed B rules: an order is stored once (idempotent by Id), never overlaps another order
of its device, and never claims more energy than the device can deliver."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from evcharge.auth.principal import Principal
from evcharge.auth.repository import device_owner
from evcharge.compat.dates import format_datetime, hundred_ns, with_hundred_ns
from evcharge.compat.numbers import exact_sum
from evcharge.db import utcnow
from evcharge.errors import Conflict, Invalid, NotFound, Unprocessable
from evcharge.orders import repository
from evcharge.orders.group_insert import group_insert
from evcharge.orders.models import FROM_API
from evcharge.orders.repository import Filters, Insert, NewOrder, OrderContent
from evcharge.orders.schemas import (
    ChargingOrder,
    ChargingOrderRequest,
    ChargingOrderSummary,
    SummaryGroup,
)

_TOLERANCE = (105, 100)
"""ElectricQuantity may exceed MaxPowerKw × hours by 5 % (meter and rounding slack)."""
_MICROSECOND = timedelta(microseconds=1)

_MICROSECONDS_PER_HOUR = 3_600_000_000
_UNREACHABLE_POWER = Decimal("999999999999.999999")  # NUMERIC(18,6) maximum
ATTEMPTS = 3


class OrderOverlaps(Conflict):
    """Another order of the same device occupies part of the requested time."""


class OrderIdReused(Unprocessable):
    """The Id names an order with different content (IETF Idempotency-Key draft: 422)."""


@dataclass(frozen=True, slots=True)
class Created:
    client_id: str
    new: bool


def order_url(client_id: str) -> str:
    return f"/api/ChargeOrder/GetOrder?id={quote(client_id, safe='')}"


def content(body: ChargingOrderRequest) -> OrderContent:
    return OrderContent(
        device_id=body.charging_device_id,
        customer_id=body.customer_id,
        start_time=body.start_time,
        end_time=body.end_time,
        electric_quantity=body.electric_quantity,
        discount_price=body.discount_price,
        remark=body.remark,
        start_time_100ns=hundred_ns(body.start_time),
        end_time_100ns=hundred_ns(body.end_time),
    )


def minimum_power(quantity: Decimal | None, start: datetime, end: datetime) -> Decimal:
    """The smallest MaxPowerKw (6 places, rounded up) that can deliver `quantity` kWh
    between start and end: quantity ≤ MaxPowerKw × hours × 1.05, in exact integers.
    No quantity (null) needs no power."""
    if not quantity:
        return Decimal(0)
    micros = (end - start) // _MICROSECOND
    if micros <= 0:
        return _UNREACHABLE_POWER
    # In millionths: P ≥ q × 3.6e9 µs/h × 100 / (µs × 105), rounded up.
    numerator = int(quantity.scaleb(6)) * _MICROSECONDS_PER_HOUR * _TOLERANCE[1]
    needed = -(-numerator // (micros * _TOLERANCE[0]))
    return min(Decimal(needed).scaleb(-6), _UNREACHABLE_POWER)


def energy_limit(power: Decimal, start: datetime, end: datetime) -> Decimal:
    """MaxPowerKw × hours × 1.05 in kWh, rounded down to 6 places."""
    micros = (end - start) // _MICROSECOND
    millionths = int(power.scaleb(6)) * micros * _TOLERANCE[0]
    limit = millionths // (_MICROSECONDS_PER_HOUR * _TOLERANCE[1])
    return Decimal(limit).scaleb(-6).normalize()


MAX_ORDER_LENGTH = timedelta(days=31)
"""Default of EVCHARGE_MAX_ORDER_DAYS: an order blocks its device for its whole range."""


def _check(order: OrderContent, max_length: timedelta) -> None:
    if order.end_time < order.start_time:
        raise Invalid(errors={"EndTime": ["EndTime must not be earlier than StartTime."]})
    if order.end_time - order.start_time > max_length:
        days = max_length / timedelta(days=1)
        raise Invalid(
            errors={
                "EndTime": [
                    f"An order may cover at most {days:g} days: EndTime must be no later "
                    f"than {format_datetime(order.start_time + max_length)} (StartTime + "
                    f"{days:g} days)."
                ]
            }
        )


def _no_device(device_id: uuid.UUID) -> str:
    return f"No charging device with Id {device_id} exists."


def _no_customer(customer_id: uuid.UUID) -> str:
    return f"No customer with Id {customer_id} exists."


async def _refuse_others(connection: AsyncConnection, order: OrderContent, own: uuid.UUID) -> None:
    """A customer key orders only for its own customer on its own devices; anything else
    answers exactly as a customer or device that does not exist (no probing, and no
    learning when another customer's charger is busy)."""
    errors: dict[str, list[str]] = {}
    if await device_owner(connection, order.device_id) != own:
        errors["ChargingDeviceId"] = [_no_device(order.device_id)]
    if order.customer_id != own:
        errors["CustomerId"] = [_no_customer(order.customer_id)]
    if errors:
        raise Invalid(errors=errors)


@dataclass(frozen=True, slots=True)
class Tried:
    """An at-once insert (`create_at_once`) that stored nothing: `create` begins with
    why, without inserting the same row again."""

    client_id: str


def _checked(body: ChargingOrderRequest, max_length: timedelta) -> tuple[OrderContent, Decimal]:
    """The order's content, held to the rules no database is needed for, and the least
    MaxPowerKw its energy needs."""
    order = content(body)
    _check(order, max_length)
    return order, minimum_power(order.electric_quantity, order.start_time, order.end_time)


async def create(
    connection: AsyncConnection,
    body: ChargingOrderRequest,
    acting_for: uuid.UUID | None = None,
    max_length: timedelta = MAX_ORDER_LENGTH,
    source: str = FROM_API,
    tried: Tried | None = None,
) -> Created:
    """Store the order or say precisely why not. Success costs one statement; every
    other outcome is diagnosed afterwards with a few reads. `acting_for`: the only
    customer the caller may act for (a customer key); None for any (an admin key).
    `max_length`: the longest time range an order may cover (EVCHARGE_MAX_ORDER_DAYS).
    `source`: where it came from (ChargeOrder.source). `tried`: `create_at_once` tried
    it already (its Id; the first step is then the diagnosis)."""
    order, min_power = _checked(body, max_length)
    if acting_for is not None:
        await _refuse_others(connection, order, acting_for)
    client_id = tried.client_id if tried is not None else body.id or str(uuid.uuid4())
    for attempt in range(ATTEMPTS):
        if attempt > 0 or tried is None:
            new = NewOrder(client_id, order, min_power, utcnow(), source)
            if await repository.insert(connection, new) is Insert.STORED:
                return Created(client_id, new=True)
        found = await _diagnose(connection, client_id, order, generated=body.id is None)
        if found is not None:
            return found
    raise Conflict("The order could not be stored because of concurrent changes; retry.")


async def create_at_once(
    engine: AsyncEngine,
    body: ChargingOrderRequest,
    acting_for: uuid.UUID | None,
    max_length: timedelta = MAX_ORDER_LENGTH,
    source: str = FROM_API,
) -> Created | Tried | None:
    """CreateOrder's hot path: an order on PostgreSQL for any customer (an admin key)
    is one statement on a bare pooled driver connection. `Tried` when that stored
    nothing, None when it does not apply: `create`, on a Core connection, then stores
    it or says why."""
    if acting_for is not None or engine.dialect.name != "postgresql":
        return None
    order, min_power = _checked(body, max_length)
    client_id = body.id or str(uuid.uuid4())  # never stored unless this stores it
    new = NewOrder(client_id, order, min_power, utcnow(), source)
    outcome = await group_insert(engine).insert(new)
    return Created(client_id, new=True) if outcome is Insert.STORED else Tried(client_id)


async def _diagnose(
    connection: AsyncConnection, client_id: str, order: OrderContent, *, generated: bool
) -> Created | None:
    """Why the insert stored nothing, in the same precedence on both databases:
    existing Id, then unknown device/customer or too much energy, then overlap.
    None when nothing explains it any more (a concurrent change): try again."""
    existing = await repository.by_client_id(connection, client_id)
    if existing is not None:
        if repository.content_of(existing) == order:
            return Created(client_id, new=False)
        raise OrderIdReused(
            f"Order {client_id} already exists with different content; "
            "use a new Id for a new order.",
            {"Id": [f"Id {client_id!r} is already used by an order with different content."]},
        )
    errors: dict[str, list[str]] = {}
    power = await repository.device_power(connection, order.device_id)
    if power is None:
        errors["ChargingDeviceId"] = [_no_device(order.device_id)]
    if not await repository.customer_exists(connection, order.customer_id):
        errors["CustomerId"] = [_no_customer(order.customer_id)]
    if power is not None:
        limit = energy_limit(power, order.start_time, order.end_time)
        if order.electric_quantity is not None and order.electric_quantity > limit:
            errors["ElectricQuantity"] = [
                f"ElectricQuantity {order.electric_quantity} kWh exceeds what the device can "
                f"deliver in that time: {limit} kWh ({power} kW × hours + 5 %)."
            ]
    if errors:
        raise Invalid(errors=errors)
    other = await repository.colliding(
        connection, order.device_id, order.start_time, order.end_time
    )
    if other is not None and generated and repository.content_of(other) == order:
        # Without an Id a retry cannot be told from a new order: say that it is most
        # likely this very order, stored by an earlier attempt (e.g. one answered 503).
        raise OrderOverlaps(
            f"An order with exactly this content is already stored as order {other.client_id}; "
            "if this is a retry of a request that failed, it was stored then. "
            "Send an Id so that retries are recognised.",
            {
                "Id": [
                    f"No Id was sent and order {other.client_id} on the same device has "
                    "exactly this content: this request repeats it."
                ]
            },
        )
    if other is not None:
        problem = (
            f"The device already has order {other.client_id} from "
            f"{format_datetime(other.start_time)} to {format_datetime(other.end_time)}, "
            "which overlaps this order."
        )
        raise OrderOverlaps(
            f"The order overlaps order {other.client_id} on the same device.",
            {"StartTime": [problem]},
        )
    return None


def to_wire(row: Any) -> ChargingOrder:
    return ChargingOrder(
        charging_device_id=row.device_id,
        customer_id=row.customer_id,
        start_time=with_hundred_ns(row.start_time, row.start_time_100ns or 0),
        end_time=with_hundred_ns(row.end_time, row.end_time_100ns or 0),
        electric_quantity=row.electric_quantity,
        discount_price=row.discount_price,
        remark=row.remark,
        id=row.client_id,
        created=row.created,
        source=None if getattr(row, "source", FROM_API) == FROM_API else row.source,
    )


async def one(session: AsyncSession, client_id: str, caller: Principal) -> ChargingOrder:
    """The order; another customer's order is "not found", worded as a missing one."""
    row = await repository.by_client_id(session, client_id)
    missing = f"No order with Id {client_id!r} exists."
    if row is None:
        raise NotFound(missing)
    caller.require_customer_uuid(row.customer_id, missing)
    return to_wire(row)


async def page(
    session: AsyncSession, filters: Filters, *, number: int, size: int
) -> tuple[list[ChargingOrder], int]:
    rows, total = await repository.page(session, filters, number=number, size=size)
    return [to_wire(row) for row in rows], total


GROUPINGS = ("customer", "device", "day")


async def summary(
    session: AsyncSession, group_by: str, filters: Filters, zone: tzinfo
) -> ChargingOrderSummary:
    """Totals per customer, device or local day (operator zone) of the orders that start
    in [from, to): each order is counted once, in the group its StartTime falls in."""
    groups: list[SummaryGroup] = []
    if group_by == "day":
        days: dict[str, list[Any]] = defaultdict(lambda: [0, [], []])
        async for row in repository.stream_for_days(session, filters):
            totals = days[row.start_time.astimezone(zone).date().isoformat()]
            totals[0] += 1
            if row.electric_quantity is not None:
                totals[1].append(row.electric_quantity)
            totals[2].append(row.discount_price)
        for key in sorted(days):
            count, energy, discount = days[key]
            groups.append(SummaryGroup(key=key, order_count=count,
                                       electric_quantity=exact_sum(energy),
                                       discount_price=exact_sum(discount)))  # fmt: skip
    else:
        column = (
            repository.orders.c.customer_id
            if group_by == "customer"
            else (repository.orders.c.device_id)
        )
        for row in await repository.totals_by(session, column, filters):
            groups.append(
                SummaryGroup(
                    key=str(row.key),
                    order_count=row.order_count,
                    electric_quantity=row.electric_quantity,
                    discount_price=row.discount_price,
                )
            )
    return ChargingOrderSummary(
        group_by=group_by,
        from_=filters.start,
        to=filters.end,
        order_count=sum(g.order_count for g in groups),
        electric_quantity=exact_sum(g.electric_quantity for g in groups),
        discount_price=exact_sum(g.discount_price for g in groups),
        groups=groups,
    )
