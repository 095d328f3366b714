"""What the console pages show, read with the API's own scoping (`Principal`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from evcharge.auth.principal import Principal
from evcharge.charging_info.models import ChargingInformation
from evcharge.console.charts import Span
from evcharge.orders.models import ChargeOrder
from evcharge.plans.models import ChargePlan
from evcharge.prices.models import PriceArea, PriceSlotRow
from evcharge.prices.repository import overlapping
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.registry.paths import Path
from evcharge.registry.repository import resolve

MODES = {0: "Normal (charge at once)", 1: "Smart (cheapest hours)", 2: "Off"}


def _own(principal: Principal) -> list[Any]:
    """The WHERE that keeps a customer key inside its own customer (admin: nothing)."""
    return [] if principal.is_admin else [Customer.number == principal.customer_number]


@dataclass(frozen=True, slots=True)
class Overview:
    customers: int
    gateways: int
    devices: int
    chargers: int
    orders: int
    plans: int


async def overview(session: AsyncSession, principal: Principal) -> Overview:
    def tree(*columns: Any) -> Any:
        return (
            select(*columns)
            .select_from(Customer)
            .outerjoin(Contract, Contract.customer_id == Customer.id)
            .outerjoin(Gateway, Gateway.contract_id == Contract.id)
            .outerjoin(ChargingDevice, ChargingDevice.gateway_id == Gateway.id)
            .outerjoin(ChargePlan, ChargePlan.device_id == ChargingDevice.id)
            .where(*_own(principal))
        )

    counts = (
        await session.execute(
            tree(
                func.count(func.distinct(Customer.id)),
                func.count(func.distinct(Gateway.id)),
                func.count(func.distinct(ChargingDevice.id)),
                func.count(func.distinct(ChargingDevice.charge_point_id)),
                func.count(func.distinct(ChargePlan.device_id)),
            )
        )
    ).one()
    orders = select(func.count()).select_from(ChargeOrder)
    if not principal.is_admin:
        orders = orders.where(ChargeOrder.customer_id == principal.customer_filter(None))
    return Overview(
        customers=counts[0],
        gateways=counts[1],
        devices=counts[2],
        chargers=counts[3],
        orders=int(await session.scalar(orders) or 0),
        plans=counts[4],
    )


@dataclass(frozen=True, slots=True)
class SiteRow:
    customer: int
    customer_name: str
    contract: int
    gateway: int
    name: str
    max_power_kw: Decimal | None
    price_area: str | None
    devices: int


async def sites(
    session: AsyncSession, principal: Principal, text: str | None, page: int, size: int
) -> tuple[list[SiteRow], int]:
    where = _own(principal)
    if text:
        pattern = f"%{text.lower()}%"
        where.append(
            func.lower(Gateway.name).like(pattern) | func.lower(Customer.name).like(pattern)
        )
    devices = (
        select(func.count())
        .where(ChargingDevice.gateway_id == Gateway.id)
        .correlate(Gateway)
        .scalar_subquery()
    )
    base = (
        select(
            Customer.number,
            Customer.name,
            Contract.number,
            Gateway.number,
            Gateway.name,
            Gateway.max_power_kw,
            Gateway.price_area,
            devices,
        )
        .select_from(Gateway)
        .join(Contract, Gateway.contract_id == Contract.id)
        .join(Customer, Contract.customer_id == Customer.id)
        .where(*where)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(
        base.order_by(Customer.number, Contract.number, Gateway.number)
        .offset((page - 1) * size)
        .limit(size)
    )
    return [SiteRow(*row) for row in rows], int(total or 0)


@dataclass(slots=True)
class DeviceView:
    device: ChargingDevice
    info: ChargingInformation | None
    plan: ChargePlan | None
    power: list[Span] = field(default_factory=list)

    @property
    def mode(self) -> str:
        if self.info is None:
            return "No charging information"
        mode = MODES.get(self.info.charging_mode or 0, "?")
        if self.info.charging_mode == 1 and not self.info.smart_mode_is_active:
            return mode + ", but SmartModeIsActive is false: charges as Normal"
        return mode


@dataclass(slots=True)
class SiteView:
    customer: Customer
    contract: Contract
    gateway: Gateway
    devices: list[DeviceView]
    prices: list[Span]
    currency: str | None


async def site(session: AsyncSession, principal: Principal, path: Path, now: datetime) -> SiteView:
    """A gateway with its devices, their current charging information and stored plans, and
    the prices of its area over the plans' horizon. Another customer's gateway is the
    NotFound of a missing customer, worded the same (as the API answers)."""
    principal.require_customer_number(path.customer)
    chain = await resolve(session, path, depth=3)
    assert chain.contract is not None and chain.gateway is not None
    version = aliased(ChargingInformation)
    newest = (
        select(func.max(version.version))
        .where(version.device_id == ChargingDevice.id)
        .correlate(ChargingDevice)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(ChargingDevice, ChargingInformation, ChargePlan)
        .select_from(ChargingDevice)
        .outerjoin(
            ChargingInformation,
            and_(
                ChargingInformation.device_id == ChargingDevice.id,
                ChargingInformation.version == newest,
            ),
        )
        .outerjoin(ChargePlan, ChargePlan.device_id == ChargingDevice.id)
        .where(ChargingDevice.gateway_id == chain.gateway.id)
        .order_by(ChargingDevice.number)
    )
    views: list[DeviceView] = []
    for device, info, plan in rows:
        view = DeviceView(device, info, plan)
        if plan is not None:
            view.power = [
                Span(
                    datetime.fromisoformat(s["start"]),
                    datetime.fromisoformat(s["end"]),
                    float(s["power_kw"]),
                )
                for s in plan.slots
            ]
        views.append(view)
    end = max((s.end for v in views for s in v.power), default=now + timedelta(hours=24))
    start = min((s.start for v in views for s in v.power), default=now)
    prices, currency = await area_prices(session, chain.gateway.price_area, start, end)
    return SiteView(chain.customer, chain.contract, chain.gateway, views, prices, currency)


async def area_prices(
    session: AsyncSession, area: str | None, start: datetime, end: datetime
) -> tuple[list[Span], str | None]:
    if area is None:
        return [], None
    currency = await session.scalar(select(PriceArea.currency).where(PriceArea.area == area))
    rows = await overlapping(session, area, start, end)
    return [Span(r.start, r.end, float(r.price)) for r in rows], currency


@dataclass(frozen=True, slots=True)
class AreaRow:
    area: str
    currency: str
    updated: datetime
    slots: int
    first: datetime | None
    last: datetime | None


async def areas(session: AsyncSession) -> list[AreaRow]:
    """Every price area with its last import time and the range of its stored prices."""
    rows = await session.execute(
        select(
            PriceArea.area,
            PriceArea.currency,
            PriceArea.updated,
            func.count(PriceSlotRow.start),
            func.min(PriceSlotRow.start),
            func.max(PriceSlotRow.end),
        )
        .outerjoin(PriceSlotRow, PriceSlotRow.area == PriceArea.area)
        .group_by(PriceArea.area, PriceArea.currency, PriceArea.updated)
        .order_by(PriceArea.area)
    )
    return [AreaRow(*row) for row in rows]


async def last_import(session: AsyncSession, area: str) -> datetime | None:
    return await session.scalar(select(PriceArea.updated).where(PriceArea.area == area))


async def device_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Readable names of the devices an order page shows."""
    if not ids:
        return {}
    rows = await session.execute(
        select(ChargingDevice.id, ChargingDevice.name, ChargingDevice.charge_point_id).where(
            ChargingDevice.id.in_(ids)
        )
    )
    return {row[0]: row[2] or row[1] for row in rows}
