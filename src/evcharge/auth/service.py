"""Key management (the `evcharge keys` commands) and authenticating a request's key."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import math
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from evcharge.auth import keys, repository
from evcharge.auth.cache import KeyCache, NoChanges, PostgresChanges, SqliteChanges
from evcharge.auth.limiter import KeyGone, LeasedLimiter
from evcharge.auth.models import ApiKey
from evcharge.auth.principal import Principal, Role
from evcharge.config import Settings
from evcharge.db import utcnow
from evcharge.errors import NotFound, Unauthorized

ENV_ADMIN_KEY_ID = "env"
"""The key id that EVCHARGE_ADMIN_KEY authenticates as (in audit lines)."""

LAST_USED_EVERY = repository.LAST_USED_GRANULARITY.total_seconds()

log = structlog.get_logger("evcharge.auth")

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
        await repository.keys_changed(session)
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
    """Turns the presented key into a Principal. A cached key costs no round trip
    (auth/cache.py); the rate limit costs one lease per many requests (auth/limiter.py);
    a refused key costs at most one read, never a write."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self.env_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        self.limit(settings.rate_limit_per_second, settings.rate_limit_burst, clock)
        self.cache = KeyCache()
        self.sqlite: SqliteChanges | None = None
        self.changes: SqliteChanges | PostgresChanges | NoChanges
        if settings.sqlite_path is not None:
            self.changes = self.sqlite = SqliteChanges(settings.sqlite_path, self.cache)
        elif settings.is_sqlite:
            self.changes = NoChanges()
        else:
            dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            self.changes = PostgresChanges(dsn, self.cache, time.monotonic)
        self.last_used: dict[str, float] = {}
        self.touching: set[asyncio.Task[None]] = set()

    def limit(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        """(Re)configure the per-key limit (start-up; tests set a small one and a clock)."""
        self.rate, self.burst, self.clock = rate, float(max(burst, 1)), clock
        self.limiter = LeasedLimiter(rate, self.burst, self._lease, clock)

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
        row = await self._verified(key_id)
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise unauthorized("The API key is not valid or has been revoked.")
        if self.rate > 0:
            try:
                await self.limiter.take(key_id)
            except KeyGone:
                self.cache.invalidate()
                raise unauthorized("The API key is not valid or has been revoked.") from None
        else:
            self._note_use(key_id)
        role: Role = "admin" if row.role == "admin" else "customer"
        return Principal(key_id, role, row.customer_number, row.customer_uuid)

    async def _verified(self, key_id: str) -> repository.KeyRow | None:
        """The unrevoked key row: from the cache when it can be trusted, else one read."""
        trusted = await self.changes.usable()
        if trusted:
            row = self.cache.get(key_id)
            if row is not None:
                return row
        generation = self.cache.generation
        if self.sqlite is not None:
            row = await self.sqlite.find(key_id)
        else:
            connection = await self._connect()
            try:
                row = await repository.find(connection, key_id)
                if connection.in_transaction():
                    await connection.commit()
            finally:
                await connection.close()
        if trusted and row is not None:
            self.cache.put(key_id, row, generation)
        return row

    async def _lease(self, key_id: str, now: float, want: float) -> repository.Lease:
        connection = await self._connect()
        try:
            got = await repository.lease(
                connection, key_id, now=now, rate=self.rate, burst=self.burst, want=want
            )
            if connection.in_transaction():
                await connection.commit()
            return got
        finally:
            await connection.close()

    def _note_use(self, key_id: str) -> None:
        """Without a rate limit nothing is leased: `last_used` is written from memory, at
        most once a minute per key and process, after the request (not in its way)."""
        now = self.clock()
        if now - self.last_used.get(key_id, -math.inf) < LAST_USED_EVERY:
            return
        self.last_used[key_id] = now
        task = asyncio.create_task(self._touch(key_id, now))
        self.touching.add(task)
        task.add_done_callback(self.touching.discard)

    async def _touch(self, key_id: str, now: float) -> None:
        try:
            connection = await self._connect()
            try:
                await repository.touch(connection, key_id, datetime.fromtimestamp(now, UTC))
                if connection.in_transaction():
                    await connection.commit()
            finally:
                await connection.close()
        except Exception as exc:  # bookkeeping only: never fails a request
            log.warning("last_used_not_written", key_id=key_id, error=type(exc).__name__)

    async def _connect(self) -> AsyncConnection:
        connection = await self.engine.connect()
        if self.engine.dialect.name != "sqlite":
            # One statement, no BEGIN/COMMIT round trips.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    async def close(self) -> None:
        for task in list(self.touching):
            with contextlib.suppress(Exception):
                await task
        await self.changes.close()
