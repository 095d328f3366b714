"""The chargers section reads through a `ChargerSource`, so the OCPP central system can
plug its live connection data in (`app.state.charger_source = TheirSource()`) without
touching the pages. Until then `RegisteredChargers` lists the registered devices that have
a ChargePointId and says plainly that their connection state is not known."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.auth.principal import Principal
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway


@dataclass(frozen=True, slots=True)
class Connector:
    number: int
    status: str
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class ChargerRow:
    """One charger as the list shows it; None means "not known" (shown as such)."""

    charge_point_id: str
    device_name: str
    customer: int
    contract: int
    gateway: int
    device: int
    max_power_kw: Decimal
    connected: bool | None = None
    connected_since: datetime | None = None
    last_heartbeat: datetime | None = None
    power_kw: Decimal | None = None
    held_by: str | None = None
    connectors: tuple[Connector, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ChargerQuery:
    text: str | None = None
    connected: bool | None = None
    page: int = 1
    size: int = 50


class ChargerSource(Protocol):
    live: bool
    """True when connection state, connectors and heartbeats are known."""

    async def chargers(
        self, session: AsyncSession, principal: Principal, query: ChargerQuery
    ) -> tuple[list[ChargerRow], int]:
        """A page of the chargers the principal may see, and their total count."""
        ...


class RegisteredChargers:
    """Registered devices with a ChargePointId (no OCPP data: `live` is False)."""

    live = False

    async def chargers(
        self, session: AsyncSession, principal: Principal, query: ChargerQuery
    ) -> tuple[list[ChargerRow], int]:
        where: list[ColumnElement[bool]] = [ChargingDevice.charge_point_id.is_not(None)]
        if not principal.is_admin:
            where.append(Customer.number == principal.customer_number)
        if query.text:
            pattern = f"%{query.text.lower()}%"
            where.append(
                or_(
                    func.lower(ChargingDevice.charge_point_id).like(pattern),
                    func.lower(ChargingDevice.name).like(pattern),
                )
            )
        if query.connected is not None:
            return [], 0  # nothing is known to be connected or not without OCPP
        base = (
            select(ChargingDevice, Gateway.number, Contract.number, Customer.number)
            .join(Gateway, ChargingDevice.gateway_id == Gateway.id)
            .join(Contract, Gateway.contract_id == Contract.id)
            .join(Customer, Contract.customer_id == Customer.id)
            .where(*where)
        )
        total = await session.scalar(select(func.count()).select_from(base.subquery()))
        rows = await session.execute(
            base.order_by(ChargingDevice.charge_point_id)
            .offset((query.page - 1) * query.size)
            .limit(query.size)
        )
        found = [
            ChargerRow(
                charge_point_id=device.charge_point_id or "",
                device_name=device.name,
                customer=customer,
                contract=contract,
                gateway=gateway,
                device=device.number,
                max_power_kw=device.max_power_kw,
            )
            for device, gateway, contract, customer in rows
        ]
        return found, int(total or 0)
