"""Key management (the `evcharge keys` commands) and authenticating a request's key."""

from __future__ import annotations

import hmac
import math
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from evcharge.auth import keys, repository
from evcharge.auth.models import ApiKey
from evcharge.auth.principal import Principal, Role
from evcharge.config import Settings
from evcharge.db import utcnow
from evcharge.errors import NotFound, TooManyRequests, Unauthorized

ENV_ADMIN_KEY_ID = "env"
"""The key id that EVCHARGE_ADMIN_KEY authenticates as (in audit lines)."""

WWW_AUTHENTICATE = 'Bearer realm="evcharge", Basic realm="evcharge"'


async def create_key(
    session: AsyncSession, role: Role, customer_number: int | None = None
) -> tuple[ApiKey, str]:
    """Store a new key's hash; returns the row and the key, which exists nowhere else."""
    if (role == "customer") != (customer_number is not None):
        raise ValueError("a customer key needs a customer number; an admin key has none")
    key_id, key = keys.new_key()
    row = ApiKey(id=key_id, role=role, customer_number=customer_number, key_hash=keys.digest(key))
    session.add(row)
    await session.flush()
    return row, key


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"No API key {key_id} exists.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row


def write_key_file(path: Path, key: str) -> None:
    """Write `key` to `path`, readable by the owner only (0600) from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    path.chmod(0o600)


def unauthorized(message: str = "Authorization has been denied for this request.") -> Unauthorized:
    return Unauthorized(message, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


class Authenticator:
    """Turns the presented key into a Principal: one short statement per request, in
    autocommit (PostgreSQL) or its own BEGIN IMMEDIATE … COMMIT (SQLite)."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self.rate = settings.rate_limit_per_second
        self.burst = float(max(settings.rate_limit_burst, 1))
        self.env_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        self.clock = clock

    async def authenticate(self, headers: dict[str, str]) -> Principal:
        key = keys.presented_key(headers)
        if key is None:
            raise unauthorized()
        if self.env_key and keys.same(key, self.env_key):
            return Principal(ENV_ADMIN_KEY_ID, "admin")
        key_id = keys.key_id_of(key)
        if key_id is None:
            raise unauthorized("The API key is not valid.")
        digest = keys.digest(key)
        now = self.clock()
        connection = await self._connect()
        try:
            row = await self._lookup(connection, key_id, digest, now)
        finally:
            await connection.close()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise unauthorized("The API key is not valid or has been revoked.")
        if row.tokens is not None and row.tokens < 0:
            wait = max(1, math.ceil(-row.tokens / self.rate))
            raise TooManyRequests(headers={"Retry-After": str(wait)})
        role: Role = "admin" if row.role == "admin" else "customer"
        return Principal(key_id, role, row.customer_number, row.customer_uuid)

    async def _connect(self) -> AsyncConnection:
        connection = await self.engine.connect()
        if self.engine.dialect.name != "sqlite":
            # One statement, no BEGIN/COMMIT round trips.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    async def _lookup(
        self, connection: AsyncConnection, key_id: str, digest: str, now: float
    ) -> repository.KeyRow | None:
        sqlite = self.engine.dialect.name == "sqlite"
        if self.rate > 0:
            row = await repository.take_token(
                connection, key_id, digest, now=now, rate=self.rate, burst=self.burst
            )
            if sqlite:
                await connection.commit()
            return row
        row = await repository.find(connection, key_id, digest)
        stamp = datetime.fromtimestamp(now, UTC)
        if row is not None and (
            row.last_used is None or stamp - row.last_used >= repository.LAST_USED_GRANULARITY
        ):
            await repository.touch(connection, key_id, stamp)
        if sqlite:
            await connection.commit()
        return row
