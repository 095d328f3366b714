"""Key queries. Authentication is one short statement of its own, outside the request's
unit of work, so a key's requests never wait on each other's transactions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Table, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from evcharge.auth.models import ApiKey, ApiKeyChanges
from evcharge.db import UtcDateTime
from evcharge.registry.models import ChargingDevice, Contract, Customer, Gateway

LAST_USED_GRANULARITY = timedelta(seconds=60)
"""`last_used` is written at most once a minute per key and process (or with a lease)."""

CHANGES_CHANNEL = "evcharge_api_keys"
"""PostgreSQL NOTIFY channel of `keys_changed`; every process's key cache LISTENs."""

_keys: Table = ApiKey.__table__  # type: ignore[assignment]
_changes: Table = ApiKeyChanges.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class KeyRow:
    key_hash: str
    role: str
    customer_number: int | None
    customer_uuid: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Lease:
    """What a lease statement found: the key (None: unknown or revoked), the tokens it
    handed over, and the balance left in the shared bucket."""

    key: KeyRow | None
    granted: float = 0.0
    balance: float = 0.0


def _customer_uuid() -> Any:
    """The uuid of the key's customer, looked up in the same statement (None until it exists)."""
    return (
        select(Customer.id)
        .where(Customer.number == _keys.c.customer_number)
        .correlate(_keys)
        .scalar_subquery()
    )


class _WholeTokens(FunctionElement[float]):
    """floor() of a non-negative balance, on both engines (SQLite may lack floor())."""

    type = Float()
    inherit_cache = True
    name = "whole_tokens"


@compiles(_WholeTokens)
def _whole_tokens(element: _WholeTokens, compiler: Any, **kw: Any) -> str:
    return f"floor({compiler.process(element.clauses, **kw)})"


@compiles(_WholeTokens, "sqlite")
def _whole_tokens_sqlite(element: _WholeTokens, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


def _lease_statement() -> Any:
    """Built once: the request path only binds values (no expression building per call).

    Refill the key's shared bucket and hand `want` tokens to the calling process (or the
    whole tokens left when fewer), in one UPDATE … RETURNING. `tokens` is the balance left;
    `leased` what this statement handed over. Rows written by the earlier one-token
    statement (balance − 1, negative when refused) are read the same way."""
    clock = bindparam("now", type_=Float)
    want = bindparam("want", type_=Float)
    balance = case((_keys.c.tokens < 0, _keys.c.tokens + 1), else_=_keys.c.tokens)
    elapsed = case((clock > _keys.c.refilled_at, clock - _keys.c.refilled_at), else_=0.0)
    refilled = balance + elapsed * bindparam("rate", type_=Float)
    burst = bindparam("burst", type_=Float)
    filled = case((refilled > burst, burst), else_=refilled)
    granted = case((filled >= want, want), else_=_WholeTokens(filled))
    return (
        update(_keys)
        .where(_keys.c.id == bindparam("b_key_id"), _keys.c.revoked_at.is_(None))
        .values(
            tokens=filled - granted,
            leased=granted,
            refilled_at=case((clock > _keys.c.refilled_at, clock), else_=_keys.c.refilled_at),
            last_used=case(
                (filled >= 1, bindparam("stamp", type_=UtcDateTime())),
                else_=_keys.c.last_used,
            ),
        )
        .returning(
            _keys.c.key_hash,
            _keys.c.role,
            _keys.c.customer_number,
            _customer_uuid(),
            _keys.c.leased,
            _keys.c.tokens,
        )
    )


_LEASE = _lease_statement()
_FIND = select(_keys.c.key_hash, _keys.c.role, _keys.c.customer_number, _customer_uuid()).where(
    _keys.c.id == bindparam("b_key_id"), _keys.c.revoked_at.is_(None)
)


def _key(row: Any) -> KeyRow:
    return KeyRow(key_hash=row[0], role=row[1], customer_number=row[2], customer_uuid=row[3])


async def lease(
    connection: AsyncConnection,
    key_id: str,
    *,
    now: float,
    rate: float,
    burst: float,
    want: float,
) -> Lease:
    """Take up to `want` tokens from the key's shared bucket (see `_lease_statement`) and
    mark the key used. The caller has verified the key's hash (a lease is only taken for
    a key that was found), so an unknown key never reaches this write."""
    parameters = {
        "b_key_id": key_id,
        "now": now,
        "rate": rate,
        "burst": burst,
        "want": want,
        "stamp": datetime.fromtimestamp(now, UTC),
    }
    row = (await connection.execute(_LEASE, parameters)).first()
    if row is None:
        return Lease(None)
    return Lease(_key(row), granted=float(row[4]), balance=float(row[5]))


async def find(connection: AsyncConnection, key_id: str) -> KeyRow | None:
    """The unrevoked key with this id (a read: refusing a key never writes)."""
    row = (await connection.execute(_FIND, {"b_key_id": key_id})).first()
    return None if row is None else _key(row)


FIND_SQLITE = (
    "SELECT key_hash, role, customer_number,"
    " (SELECT id FROM customers WHERE customers.number = api_keys.customer_number)"
    " FROM api_keys WHERE id = ? AND revoked_at IS NULL"
)
"""`find` for SQLite's read-only connection of the key cache (plain sqlite3, no writer lock)."""

CHANGES_VERSION_SQLITE = "SELECT version FROM api_key_changes WHERE id = 1"


def sqlite_key(row: Any) -> KeyRow:
    """A FIND_SQLITE row (SQLAlchemy stores a uuid on SQLite as 32 hex digits)."""
    customer = None if row[3] is None else uuid.UUID(str(row[3]))
    return KeyRow(key_hash=row[0], role=row[1], customer_number=row[2], customer_uuid=customer)


async def touch(connection: AsyncConnection, key_id: str, now: datetime) -> None:
    await connection.execute(update(_keys).where(_keys.c.id == key_id).values(last_used=now))


async def keys_changed(session: AsyncSession) -> None:
    """Tell every process's key cache, with this transaction's commit, that a cached key
    may be stale (a key revoked, a customer deleted)."""
    bumped = await session.execute(update(_changes).values(version=_changes.c.version + 1))
    if not bumped.rowcount:  # type: ignore[attr-defined]
        await session.execute(insert(_changes).values(id=1, version=1))
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANGES_CHANNEL, "")))


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
