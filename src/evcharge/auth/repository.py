"""Key queries. Authentication is one short statement of its own, outside the request's
unit of work, so a key's requests never wait on each other's transactions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Table, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from evcharge.auth.models import ApiKey
from evcharge.db import UtcDateTime
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway

LAST_USED_GRANULARITY = timedelta(seconds=60)
"""Without rate limiting, `last_used` is written at most once a minute per key."""

_keys: Table = ApiKey.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class KeyRow:
    key_hash: str
    role: str
    customer_number: int | None
    customer_uuid: uuid.UUID | None
    tokens: float | None = None
    last_used: datetime | None = None


def _customer_uuid() -> Any:
    """The uuid of the key's customer, looked up in the same statement (None until it exists)."""
    return (
        select(Customer.id)
        .where(Customer.number == _keys.c.customer_number)
        .correlate(_keys)
        .scalar_subquery()
    )


def _row(row: Any, *, tokens: bool) -> KeyRow:
    return KeyRow(
        key_hash=row[0],
        role=row[1],
        customer_number=row[2],
        customer_uuid=row[3],
        tokens=row[4] if tokens else None,
        last_used=None if tokens else row[4],
    )


def _take_token_statement() -> Any:
    """Built once: the request path only binds values (no expression building per call)."""
    clock = bindparam("now", type_=Float)
    balance = case((_keys.c.tokens < 0, _keys.c.tokens + 1), else_=_keys.c.tokens)
    elapsed = case((clock > _keys.c.refilled_at, clock - _keys.c.refilled_at), else_=0.0)
    filled = balance + elapsed * bindparam("rate", type_=Float)
    burst = bindparam("burst", type_=Float)
    available = case((filled > burst, burst), else_=filled)
    return (
        update(_keys)
        .where(
            _keys.c.id == bindparam("b_key_id"),
            _keys.c.key_hash == bindparam("b_key_hash"),
            _keys.c.revoked_at.is_(None),
        )
        .values(
            tokens=available - 1,
            refilled_at=case((clock > _keys.c.refilled_at, clock), else_=_keys.c.refilled_at),
            last_used=case(
                (available >= 1, bindparam("stamp", type_=UtcDateTime())),
                else_=_keys.c.last_used,
            ),
        )
        .returning(
            _keys.c.key_hash,
            _keys.c.role,
            _keys.c.customer_number,
            _customer_uuid(),
            _keys.c.tokens,
        )
    )


_TAKE_TOKEN = _take_token_statement()
_FIND = select(
    _keys.c.key_hash,
    _keys.c.role,
    _keys.c.customer_number,
    _customer_uuid(),
    _keys.c.last_used,
).where(
    _keys.c.id == bindparam("b_key_id"),
    _keys.c.key_hash == bindparam("b_key_hash"),
    _keys.c.revoked_at.is_(None),
)


async def take_token(
    connection: AsyncConnection,
    key_id: str,
    key_hash: str,
    *,
    now: float,
    rate: float,
    burst: float,
) -> KeyRow | None:
    """Refill the key's bucket, take one token and mark it used, in one UPDATE … RETURNING.

    Encoding: the stored `tokens` is always (balance after refill) − 1. When that is
    ≥ 0 the request took a token; when it is < 0 the request is refused and the real
    balance is tokens + 1, which is where the next refill starts. So the statement
    needs no branch in the client and stays correct across processes and hosts."""
    parameters = {
        "b_key_id": key_id,
        "b_key_hash": key_hash,
        "now": now,
        "rate": rate,
        "burst": burst,
        "stamp": datetime.fromtimestamp(now, UTC),
    }
    row = (await connection.execute(_TAKE_TOKEN, parameters)).first()
    return None if row is None else _row(row, tokens=True)


async def find(connection: AsyncConnection, key_id: str, key_hash: str) -> KeyRow | None:
    """The unrevoked key with this id and hash (no rate limiting)."""
    row = (await connection.execute(_FIND, {"b_key_id": key_id, "b_key_hash": key_hash})).first()
    return None if row is None else _row(row, tokens=False)


async def touch(connection: AsyncConnection, key_id: str, now: datetime) -> None:
    await connection.execute(update(_keys).where(_keys.c.id == key_id).values(last_used=now))


async def all_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created, ApiKey.id)))


async def has_active_admin(session: AsyncSession) -> bool:
    found = await session.scalar(
        select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None)).limit(1)
    )
    return found is not None


async def device_owner(
    session: AsyncSession | AsyncConnection, device_id: uuid.UUID
) -> uuid.UUID | None:
    """The uuid of the customer that device `device_id` belongs to; None if no such device."""
    owner = await session.scalar(
        select(Contract.customer_id)
        .join(Gateway, Gateway.contract_id == Contract.id)
        .join(ChargingDevice, ChargingDevice.gateway_id == Gateway.id)
        .where(ChargingDevice.id == device_id)
    )
    return owner
