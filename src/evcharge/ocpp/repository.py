"""OCPP queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from evcharge.ocpp.models import (
    ChargePointCredential,
    Charger,
    ConnectorState,
    IdTag,
    MeterValue,
    ServerProcess,
    Transaction,
)
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway


@dataclass(frozen=True, slots=True)
class Identity:
    """A registered charge point: its device and credentials."""

    charge_point_id: str
    device_id: uuid.UUID
    max_power_kw: Decimal
    password_hash: str | None
    enabled: bool


async def identity(session: AsyncSession, charge_point_id: str) -> Identity | None:
    row = (
        await session.execute(
            select(
                ChargingDevice.id,
                ChargingDevice.max_power_kw,
                ChargePointCredential.password_hash,
                ChargePointCredential.enabled,
            )
            .outerjoin(ChargePointCredential, ChargePointCredential.device_id == ChargingDevice.id)
            .where(ChargingDevice.charge_point_id == charge_point_id)
        )
    ).first()
    if row is None:
        return None
    return Identity(
        charge_point_id,
        row.id,
        row.max_power_kw,
        row.password_hash,
        True if row.enabled is None else bool(row.enabled),
    )


async def device_by_charge_point(session: AsyncSession, charge_point_id: str) -> Any:
    return await session.scalar(
        select(ChargingDevice).where(ChargingDevice.charge_point_id == charge_point_id)
    )


async def credential(session: AsyncSession, device_id: uuid.UUID) -> ChargePointCredential:
    found = await session.get(ChargePointCredential, device_id)
    if found is None:
        found = ChargePointCredential(device_id=device_id, enabled=True)
        session.add(found)
    return found


async def charger(session: AsyncSession, charge_point_id: str) -> Charger | None:
    return await session.get(Charger, charge_point_id)


async def connector(session: AsyncSession, charge_point_id: str, number: int) -> Any:
    return await session.get(ConnectorState, (charge_point_id, number))


async def id_tag(session: AsyncSession, tag: str) -> IdTag | None:
    return await session.get(IdTag, tag)


async def transaction(
    session: AsyncSession, charge_point_id: str, transaction_id: int, *, lock: bool = False
) -> Transaction | None:
    query = select(Transaction).where(
        Transaction.id == transaction_id, Transaction.charge_point_id == charge_point_id
    )
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


async def find(session: AsyncSession, key: dict[str, Any]) -> Transaction | None:
    """The transaction with exactly these identifying columns (the unique start key)."""
    return await session.scalar(
        select(Transaction).where(*(getattr(Transaction, k) == v for k, v in key.items()))
    )


async def active_on_connector(
    session: AsyncSession, charge_point_id: str, connector_id: int
) -> list[Transaction]:
    return list(
        await session.scalars(
            select(Transaction)
            .where(
                Transaction.charge_point_id == charge_point_id,
                Transaction.connector_id == connector_id,
                Transaction.state == "active",
            )
            .with_for_update()
        )
    )


async def stale_active(session: AsyncSession, before: datetime) -> list[Transaction]:
    return list(
        await session.scalars(
            select(Transaction)
            .where(Transaction.state == "active", Transaction.last_activity < before)
            .with_for_update(skip_locked=True)
            .limit(500)
        )
    )


async def energy_values(session: AsyncSession, transaction_id: int) -> list[MeterValue]:
    return list(
        await session.scalars(
            select(MeterValue)
            .where(
                MeterValue.transaction_id == transaction_id,
                MeterValue.measurand == "Energy.Active.Import.Register",
                MeterValue.phase.is_(None),
            )
            .order_by(MeterValue.id)
        )
    )


async def unsettled(session: AsyncSession, limit: int = 500) -> list[int]:
    """Ended transactions that have neither an order nor a refusal recorded yet."""
    rows = await session.scalars(
        select(Transaction.id)
        .where(
            Transaction.state.in_(("stopped", "closed_by_rule")),
            Transaction.order_id.is_(None),
            Transaction.order_error.is_(None),
        )
        .limit(limit)
    )
    return list(rows)


async def touch_process(
    session: AsyncSession, process: ServerProcess, now: datetime, refresh: bool = True
) -> None:
    """Insert or refresh this process's row in one statement (connections race for it).
    `refresh=False`: only make sure it exists (an existing row is neither changed nor
    locked, so connections do not queue for it)."""
    values = {
        "id": process.id, "host": process.host, "pid": process.pid,
        "started": now, "last_seen": now,
    }  # fmt: skip
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(ServerProcess).values(**values)
    if not refresh:
        await session.execute(statement.on_conflict_do_nothing(index_elements=["id"]))
        return
    await session.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_={"last_seen": now})
    )


async def clear_dead(session: AsyncSession, alive_after: datetime, now: datetime) -> int:
    """Chargers held by processes not seen since `alive_after` are disconnected."""
    dead = select(ServerProcess.id).where(ServerProcess.last_seen < alive_after)
    held_by_nobody = (
        ~select(ServerProcess.id).where(ServerProcess.id == Charger.process_id).exists()
    )
    result = await session.execute(
        update(Charger)
        .where(Charger.connected.is_(True))
        .where((Charger.process_id.in_(dead)) | held_by_nobody)
        .values(connected=False, disconnected_at=now, process_id=None, connection_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(ServerProcess).where(ServerProcess.last_seen < alive_after))
    return int(getattr(result, "rowcount", 0) or 0)


def owned_devices(customer_id: uuid.UUID) -> Any:
    """The ids of the devices of one customer (customer → contract → gateway → device)."""
    return (
        select(ChargingDevice.id)
        .join(Gateway, Gateway.id == ChargingDevice.gateway_id)
        .join(Contract, Contract.id == Gateway.contract_id)
        .where(Contract.customer_id == customer_id)
    )


def device_paths() -> Any:
    """Device rows with the numbers of their path (for the charger listing)."""
    return (
        select(
            ChargingDevice.id,
            ChargingDevice.number,
            ChargingDevice.charge_point_id,
            ChargingDevice.name,
            ChargingDevice.max_power_kw,
            Gateway.number.label("gateway"),
            Contract.number.label("contract"),
            Customer.number.label("customer"),
            Customer.id.label("customer_uuid"),
        )
        .join(Gateway, Gateway.id == ChargingDevice.gateway_id)
        .join(Contract, Contract.id == Gateway.contract_id)
        .join(Customer, Customer.id == Contract.customer_id)
        .where(ChargingDevice.charge_point_id.is_not(None))
    )
