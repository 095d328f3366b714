"""Verified keys, cached per process, with revocation seen by every process.

A key found valid is remembered (its hash, role and customer) so the hot path needs no
database round trip for it. Whatever could make a cached key stale (a revocation, a
customer deleted) bumps `api_key_changes.version` in the same transaction
(`repository.keys_changed`), and every process drops its cache when it learns of it:

- SQLite: before each request the version is read through a plain read-only sqlite3
  connection (microseconds, no writer lock, no thread hop), so the very next request
  in every process sees the change.
- PostgreSQL: `keys_changed` also NOTIFYs; each process LISTENs on a connection of its
  own and drops its cache when told. While that connection is not listening (start-up,
  database restart) nothing is cached: every request reads its key.

Unknown, malformed and revoked keys are never cached (no memory to flood) and refusing
them never writes: the lookup is a read."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog

from evcharge.auth import repository
from evcharge.auth.repository import KeyRow
from evcharge.errors import Unavailable

MAX_ENTRIES = 100_000
"""Stored keys are few; the bound only guards memory against a bug."""
RECONNECT_SECONDS = 1.0

log = structlog.get_logger("evcharge.auth")


class KeyCache:
    """key id → the verified key row. `generation` goes up on every invalidation, so a
    lookup that raced an invalidation does not store what it read before it."""

    def __init__(self) -> None:
        self.entries: dict[str, KeyRow] = {}
        self.generation = 0

    def get(self, key_id: str) -> KeyRow | None:
        return self.entries.get(key_id)

    def put(self, key_id: str, row: KeyRow, generation: int) -> None:
        # A customer key whose customer does not exist yet is read each time: the
        # customer may be registered any moment, and no event says so.
        if generation != self.generation or (row.role != "admin" and row.customer_uuid is None):
            return
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()
        self.entries[key_id] = row

    def invalidate(self) -> None:
        self.generation += 1
        self.entries.clear()


class SqliteChanges:
    """The SQLite watcher, and the key lookup itself: one read-only sqlite3 connection."""

    def __init__(self, path: Path, cache: KeyCache) -> None:
        self.path = path
        self.cache = cache
        self.connection: sqlite3.Connection | None = None
        self.version: int | None = None

    def _connect(self) -> sqlite3.Connection:
        if self.connection is None:
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=1.0
            )
            connection.execute("PRAGMA query_only=1")  # this connection can never write
            self.connection = connection
        return self.connection

    def _read(self, sql: str, *parameters: Any) -> Any:
        try:
            return self._connect().execute(sql, parameters).fetchone()
        except sqlite3.Error as exc:
            self.close_now()
            raise Unavailable(headers={"Retry-After": "5"}) from exc

    async def usable(self) -> bool:
        row = self._read(repository.CHANGES_VERSION_SQLITE)
        version = 0 if row is None else int(row[0])
        if version != self.version:
            self.version = version
            self.cache.invalidate()
        return True

    async def find(self, key_id: str) -> KeyRow | None:
        row = self._read(repository.FIND_SQLITE, key_id)
        return None if row is None else repository.sqlite_key(row)

    async def close(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self.connection.close()
            self.connection = None


class PostgresChanges:
    """LISTEN on a connection of its own; until it listens, the cache is not used."""

    def __init__(self, dsn: str, cache: KeyCache, clock: Callable[[], float]) -> None:
        self.dsn = dsn
        self.cache = cache
        self.clock = clock
        self.connection: Any = None
        self.listening = False
        self.next_attempt = 0.0
        self.starting: asyncio.Task[None] | None = None
        self.notified = 0
        """Notifications received (tests wait for one instead of sleeping)."""

    async def usable(self) -> bool:
        if self.listening:
            return True
        if self.starting is None and self.clock() >= self.next_attempt:
            self.next_attempt = self.clock() + RECONNECT_SECONDS
            self.starting = asyncio.create_task(self._listen())
        return False

    async def _listen(self) -> None:
        try:
            connection = await asyncpg.connect(self.dsn, timeout=5)
            await connection.add_listener(repository.CHANGES_CHANNEL, self._notified)
            connection.add_termination_listener(self._terminated)
            self.connection = connection
            self.cache.invalidate()  # whatever happened while nobody listened
            self.listening = True
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("key_cache_listen_failed", error=type(exc).__name__)
        finally:
            self.starting = None

    def _notified(self, *_args: Any) -> None:
        self.notified += 1
        self.cache.invalidate()

    def _terminated(self, *_args: Any) -> None:
        self.listening = False
        self.connection = None
        self.cache.invalidate()

    async def find(self, key_id: str) -> KeyRow | None:
        raise NotImplementedError  # PostgreSQL keys are read through the engine

    async def close(self) -> None:
        if self.starting is not None:
            with contextlib.suppress(Exception):
                await self.starting
        self.listening = False
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)


class NoChanges:
    """In-memory SQLite (tests, trials): one process, so nothing to watch; no cache."""

    async def usable(self) -> bool:
        return False

    async def close(self) -> None:
        return None
