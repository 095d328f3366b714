"""Registry queries: resolving a seed path to its entities in one round trip."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as OrmSession

from evcharge.errors import NotFound
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway
from evcharge.registry.paths import Path


@dataclass(frozen=True, slots=True)
class Chain:
    customer: Customer
    contract: Contract | None = None
    gateway: Gateway | None = None
    device: ChargingDevice | None = None


async def resolve(session: AsyncSession, path: Path, *, depth: int, lock: bool = False) -> Chain:
    """Load the entities of `path` down to `depth` (1 customer … 4 device); 404 naming
    the first level that does not exist. `lock` locks the deepest row until commit
    (PostgreSQL; SQLite's writers are already serialised by BEGIN IMMEDIATE)."""
    if lock:
        row = (
            await session.execute(
                _chain_query(path, depth, outer=False).with_for_update(of=_LEVEL_MODELS[depth - 1])
            )
        ).first()
        if row is not None:
            return Chain(*row)
    row = (await session.execute(_chain_query(path, depth, outer=True))).first()
    found: list[Any] = list(row) if row is not None else [None]
    for level, entity in enumerate(found, start=1):
        if entity is None:
            raise NotFound(path.missing(level))
    return Chain(*found)


_LEVEL_MODELS: tuple[Any, ...] = (Customer, Contract, Gateway, ChargingDevice)


def _chain_query(path: Path, depth: int, *, outer: bool) -> Any:
    """customers ⋈ contracts ⋈ gateways ⋈ devices down to `depth`, matched by number.
    Outer joins leave the missing level NULL, so one query says what is missing."""
    join_conditions = (
        and_(Contract.customer_id == Customer.id, Contract.number == path.contract),
        and_(Gateway.contract_id == Contract.id, Gateway.number == path.gateway),
        and_(ChargingDevice.gateway_id == Gateway.id, ChargingDevice.number == path.device),
    )
    query: Any = select(*_LEVEL_MODELS[:depth]).select_from(Customer)
    for model, condition in zip(_LEVEL_MODELS[1:depth], join_conditions, strict=False):
        query = query.join(model, condition, isouter=outer)
    return query.where(Customer.number == path.customer)


async def count_children(
    session: AsyncSession, foreign_key: Any, label: Any, parent_id: Any
) -> tuple[int, list[Any]]:
    """How many rows reference the parent, and the labels of the first few."""
    total = await session.scalar(select(func.count()).where(foreign_key == parent_id))
    if not total:
        return 0, []
    labels = await session.scalars(
        select(label).where(foreign_key == parent_id).order_by(label).limit(5)
    )
    return int(total), list(labels)


async def page_of(
    session: AsyncSession, query: Any, *, page: int, size: int
) -> tuple[list[Any], int]:
    """One page of `query` (already ordered) and the total count."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.offset((page - 1) * size).limit(size))).all()
    return list(rows), int(total or 0)


_LOCKED = "evcharge.locked"
"""session.info key: the row ids this transaction has locked already (held until it ends)."""


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _locks_released(session: OrmSession) -> None:
    session.info.pop(_LOCKED, None)


async def lock_gateway_for_replan(
    session: AsyncSession,
    gateway_ids: Sequence[uuid.UUID],
    device_ids: Sequence[uuid.UUID] = (),
) -> set[uuid.UUID]:
    """THE lock order of every write that replans (docs/architecture.md, "Locks"): the
    gateway rows first, then the device rows, each in ascending id order, until commit.
    Two such writes then wait for each other instead of deadlocking. The locked rows are
    re-read into the session (a waiting writer sees the winner's values); rows this
    transaction holds already are not asked for again. Returns the ids that still exist:
    a concurrent DELETE may have removed one since it was resolved.
    PostgreSQL locks; SQLite's writers are already serialised by BEGIN IMMEDIATE."""
    held: set[uuid.UUID] = session.sync_session.info.setdefault(_LOCKED, set())
    found: set[uuid.UUID] = set()
    levels: tuple[tuple[Any, Sequence[uuid.UUID]], ...] = (
        (Gateway, gateway_ids),
        (ChargingDevice, device_ids),
    )
    for model, ids in levels:
        wanted = set(ids)
        found |= wanted & held
        missing = sorted(wanted - held)
        if not missing:
            continue
        rows = await session.scalars(
            select(model)
            .where(model.id.in_(missing))
            .order_by(model.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        locked = {row.id for row in rows}
        held |= locked
        found |= locked
    return found


async def resolve_for_replan(session: AsyncSession, path: Path, *, depth: int) -> Chain:
    """`resolve` down to a gateway (3) or device (4), then lock them in THE order
    (`lock_gateway_for_replan`); 404 when one went away meanwhile."""
    chain = await resolve(session, path, depth=depth)
    assert chain.gateway is not None
    devices = [chain.device.id] if chain.device is not None else []
    found = await lock_gateway_for_replan(session, [chain.gateway.id], devices)
    for level, entity in ((3, chain.gateway), (4, chain.device)):
        if entity is not None and entity.id not in found:
            raise NotFound(path.missing(level))
    return chain
