"""Reading the chargers: one code path for `GET api/chargers` and the console's chargers
section, scoped by the caller's `Principal` the same way (a customer key: its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from evcharge.auth.principal import Principal
from evcharge.compat.paging import Paging
from evcharge.ocpp import repository
from evcharge.ocpp.models import (
    Charger,
    ConnectorState,
    Frame,
    MeterValue,
    ServerProcess,
    Transaction,
)
from evcharge.ocpp.smart.models import ChargingProfileState
from evcharge.registry.models import ChargingDevice

POWER = "Power.Active.Import"


@dataclass(frozen=True, slots=True)
class ChargerFilter:
    charge_point_id: str | None = None
    text: str | None = None
    """Part of the ChargePointId or the device's name (case-insensitive)."""
    connected: bool | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """One charger: its device's row (`repository.device_paths`), its connection row,
    whether a live process holds it, and its connectors."""

    device: Any
    state: Charger | None
    live: bool
    connectors: list[ConnectorState]
    profiles: list[ChargingProfileState] = field(default_factory=list)
    """Its charging profiles: what it should have, whether it acknowledged them."""


def _alive(alive_after: datetime) -> Any:
    return select(ServerProcess.id).where(ServerProcess.last_seen >= alive_after)


async def chargers(
    session: AsyncSession,
    principal: Principal,
    paging: Paging,
    alive_after: datetime,
    filters: ChargerFilter = ChargerFilter(),
) -> tuple[list[Found], int]:
    """A page of the registered charge points the principal may see, and their count.
    Connected means: marked connected by a process seen since `alive_after`."""
    devices = repository.device_paths().subquery()
    query = select(devices).order_by(devices.c.charge_point_id)
    own = principal.customer_filter(None)
    if own is not None:
        query = query.where(devices.c.customer_uuid == own)
    if filters.charge_point_id is not None:
        query = query.where(devices.c.charge_point_id == filters.charge_point_id)
    if filters.text:
        pattern = f"%{filters.text.lower()}%"
        query = query.where(
            or_(
                func.lower(devices.c.charge_point_id).like(pattern),
                func.lower(devices.c.name).like(pattern),
            )
        )
    if filters.connected is not None:
        held = select(Charger.charge_point_id).where(
            Charger.connected.is_(True), Charger.process_id.in_(_alive(alive_after))
        )
        inside = devices.c.charge_point_id.in_(held)
        query = query.where(inside if filters.connected else ~inside)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = (
        await session.execute(query.offset((paging.page - 1) * paging.size).limit(paging.size))
    ).all()
    ids = [row.charge_point_id for row in rows]
    if not ids:
        return [], total
    states = {
        c.charge_point_id: c
        for c in await session.scalars(select(Charger).where(Charger.charge_point_id.in_(ids)))
    }
    alive = set(await session.scalars(_alive(alive_after)))
    connectors: dict[str, list[ConnectorState]] = {}
    for c in await session.scalars(
        select(ConnectorState)
        .where(ConnectorState.charge_point_id.in_(ids))
        .order_by(ConnectorState.connector_id)
    ):
        connectors.setdefault(c.charge_point_id, []).append(c)
    profiles: dict[str, list[ChargingProfileState]] = {}
    for p in await session.scalars(
        select(ChargingProfileState)
        .where(ChargingProfileState.charge_point_id.in_(ids))
        .order_by(ChargingProfileState.kind)
    ):
        profiles.setdefault(p.charge_point_id, []).append(p)
    found = []
    for row in rows:
        state = states.get(row.charge_point_id)
        live = state is not None and state.connected and state.process_id in alive
        found.append(
            Found(
                row,
                state,
                live,
                connectors.get(row.charge_point_id, []),
                profiles.get(row.charge_point_id, []),
            )
        )
    return found, total


def kilowatts(value: Decimal, unit: str | None) -> Decimal:
    """A Power.Active.Import sample in kW (OCPP's default unit is W)."""
    return value if (unit or "W").lower() == "kw" else value / 1000


async def current_power(session: AsyncSession, charge_point_ids: list[str]) -> dict[str, Decimal]:
    """Per charger: the sum over its running sessions of the latest Power.Active.Import
    (the total, not a phase) each reported. Chargers without one are absent (not known)."""
    if not charge_point_ids:
        return {}
    latest = (
        select(func.max(MeterValue.id))
        .join(Transaction, Transaction.id == MeterValue.transaction_id)
        .where(
            Transaction.charge_point_id.in_(charge_point_ids),
            Transaction.state == "active",
            MeterValue.measurand == POWER,
            MeterValue.phase.is_(None),
        )
        .group_by(MeterValue.transaction_id)
    )
    rows = await session.execute(
        select(Transaction.charge_point_id, MeterValue.value, MeterValue.unit)
        .join(Transaction, Transaction.id == MeterValue.transaction_id)
        .where(MeterValue.id.in_(latest))
    )
    power: dict[str, Decimal] = {}
    for charge_point_id, value, unit in rows:
        power[charge_point_id] = power.get(charge_point_id, Decimal(0)) + kilowatts(value, unit)
    return power


async def transactions(
    session: AsyncSession, charge_point_id: str, paging: Paging
) -> tuple[list[Transaction], int]:
    """The charger's sessions, newest first."""
    query = (
        select(Transaction)
        .where(Transaction.charge_point_id == charge_point_id)
        .order_by(Transaction.id.desc())
    )
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(query.offset((paging.page - 1) * paging.size).limit(paging.size))
    return list(rows), total


async def meter_values(
    session: AsyncSession, transaction_id: int, paging: Paging
) -> tuple[list[MeterValue], int]:
    """A transaction's meter values in the order they were stored."""
    query = select(MeterValue).where(MeterValue.transaction_id == transaction_id)
    query = query.order_by(MeterValue.id)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(query.offset((paging.page - 1) * paging.size).limit(paging.size))
    return list(rows), total


async def frames(
    session: AsyncSession, charge_point_id: str, paging: Paging
) -> tuple[list[Frame], int]:
    """The charger's message log, newest first."""
    query = select(Frame).where(Frame.charge_point_id == charge_point_id)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(
        query.order_by(Frame.id.desc()).offset((paging.page - 1) * paging.size).limit(paging.size)
    )
    return list(rows), total


async def recent_meter_values(
    session: AsyncSession, charge_point_id: str, limit: int
) -> list[MeterValue]:
    """The charger's latest meter values over all its sessions, newest first."""
    rows = await session.scalars(
        select(MeterValue)
        .join(Transaction, Transaction.id == MeterValue.transaction_id)
        .where(Transaction.charge_point_id == charge_point_id)
        .order_by(MeterValue.id.desc())
        .limit(limit)
    )
    return list(rows)


async def changes(connection: AsyncConnection, principal: Principal) -> list[Any]:
    """What moves when a charger the principal may see changes state: connections,
    connector states, sessions and their latest activity (meter values). Heartbeats alone
    do not count (they would refresh every page every interval for nothing new)."""
    own = principal.customer_filter(None)
    chargers_q = select(
        func.count(Charger.charge_point_id).filter(Charger.connected.is_(True)),
        func.max(Charger.connected_since),
        func.max(Charger.disconnected_at),
    )
    connectors_q = select(func.count(), func.max(ConnectorState.updated)).select_from(
        ConnectorState
    )
    sessions_q = select(
        func.count(), func.max(Transaction.last_activity), func.max(Transaction.stop_time)
    )
    if own is not None:
        owned = repository.owned_devices(own)
        chargers_q = chargers_q.where(Charger.device_id.in_(owned))
        connectors_q = connectors_q.join(
            ChargingDevice, ChargingDevice.charge_point_id == ConnectorState.charge_point_id
        ).where(ChargingDevice.id.in_(owned))
        sessions_q = sessions_q.where(Transaction.device_id.in_(owned))
    seen: list[Any] = []
    for query in (chargers_q, connectors_q, sessions_q):
        seen += [*(await connection.execute(query)).one()]
    return seen
