"""The chargers section reads through a `ChargerSource`, so the OCPP central system plugs
its live connection data in (`app.state.charger_source`, set by `create_app` to
`ocpp.console_source.OcppChargers`) without touching the pages. `RegisteredChargers`, the
fallback of a console built without it, lists the registered devices that have a
ChargePointId and says plainly that their connection state is not known."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from evcharge.auth.principal import Principal
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway

SESSIONS_PER_PAGE = 20
"""Sessions per page of a charger's page."""


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
class SessionRow:
    """One charging session (OCPP transaction) as the charger page shows it."""

    transaction_id: int
    connector: int
    id_tag: str
    state: str
    start: datetime
    stop: datetime | None
    energy_kwh: Decimal | None
    """Delivered so far (running) or in all (ended); None when no register was read."""
    stop_reason: str | None = None
    flags: tuple[str, ...] = ()
    order_id: str | None = None
    order_error: str | None = None


@dataclass(frozen=True, slots=True)
class MeterRow:
    timestamp: datetime
    transaction_id: int
    measurand: str
    value: Decimal
    unit: str | None
    context: str | None
    phase: str | None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileRow:
    kind: str
    status: str | None
    acknowledged: bool
    attempts: int
    next_attempt: datetime | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ChargerDetail:
    charger: ChargerRow
    boot_status: str | None = None
    boot: dict[str, str] | None = None
    profiles: list[ProfileRow] = field(default_factory=list)
    """Its charging profiles (smart charging): what it should have, and its answer."""
    smart: str | None = None
    """What it said of smart charging at boot, in words."""
    sessions: list[SessionRow] = field(default_factory=list)
    sessions_total: int = 0
    meter_values: list[MeterRow] = field(default_factory=list)


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

    async def detail(
        self, session: AsyncSession, principal: Principal, charge_point_id: str, page: int
    ) -> ChargerDetail | None:
        """One charger with a page of its sessions and its recent meter values; None when
        it does not exist or the principal may not see it (the same answer)."""
        ...

    async def changes(self, connection: AsyncConnection, principal: Principal) -> list[Any]:
        """Values that move when something the chargers pages show changes (the live
        updates' fingerprint), over what the principal may see only."""
        ...


class RegisteredChargers:
    """Registered devices with a ChargePointId (no OCPP data: `live` is False)."""

    live = False

    async def detail(
        self, session: AsyncSession, principal: Principal, charge_point_id: str, page: int
    ) -> ChargerDetail | None:
        rows, _ = await self._page(session, principal, ChargerQuery(), charge_point_id)
        return ChargerDetail(rows[0]) if rows else None

    async def changes(self, connection: AsyncConnection, principal: Principal) -> list[Any]:
        return []

    async def chargers(
        self, session: AsyncSession, principal: Principal, query: ChargerQuery
    ) -> tuple[list[ChargerRow], int]:
        return await self._page(session, principal, query)

    async def _page(
        self,
        session: AsyncSession,
        principal: Principal,
        query: ChargerQuery,
        charge_point_id: str | None = None,
    ) -> tuple[list[ChargerRow], int]:
        where: list[ColumnElement[bool]] = [ChargingDevice.charge_point_id.is_not(None)]
        if charge_point_id is not None:
            where.append(ChargingDevice.charge_point_id == charge_point_id)
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
