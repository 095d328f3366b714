"""Notifications between server processes, on whatever database they share.

`subscribe(channel, callback)` and `notify(channel, payload)`: a short text (an id; at
most `MAX_PAYLOAD` bytes, the limit of PostgreSQL's NOTIFY) reaches every process that
subscribed to the channel. Anything larger travels in a table row whose id is notified.
Delivery is at most once, to processes subscribed at the time: a notification sent
while a subscriber's connection is away is lost, so every user of the bus has a
deadline of its own (remote commands: their timeout).

- PostgreSQL: LISTEN/NOTIFY on one dedicated connection per process (asyncpg's
  `add_listener`), outside the pool; re-established, with its channels, when it drops.
- SQLite (one host, several workers): rows in `ocpp_bus`, read every
  `EVCHARGE_OCPP_BUS_POLL_SECONDS` (0.1 s) through one dedicated connection per process,
  only while something is subscribed; reads in WAL mode take no lock.
- In-memory SQLite (one process): delivered in the process."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from evcharge.config import Settings

log = structlog.get_logger("evcharge.ocpp.bus")

Callback = Callable[[str], Awaitable[None] | None]
MAX_PAYLOAD = 7999
"""Bytes: PostgreSQL refuses a NOTIFY payload of 8000 bytes or more."""
RECONNECT_SECONDS = 1.0


def channel_name(kind: str, key: str) -> str:
    """A channel for `key` (e.g. a process id with colons and dots): a short, lower-case
    identifier, the same in every process, that PostgreSQL needs no quoting for."""
    digest = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    return f"evcharge_{kind}_{digest}"


class Bus(Protocol):
    async def subscribe(self, channel: str, callback: Callback) -> None: ...

    async def notify(self, channel: str, payload: str) -> None: ...

    async def close(self) -> None: ...


def create_bus(settings: Settings) -> Bus:
    if not settings.is_sqlite:
        return PostgresBus(settings.database_url.replace("+asyncpg", "", 1), settings)
    path = settings.sqlite_path
    if path is None:
        return LocalBus()
    return SqliteBus(str(path), settings)


def _checked(payload: str) -> str:
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError(f"a bus payload is at most {MAX_PAYLOAD} bytes: store it, notify its id")
    return payload


class _Deliveries:
    """Callbacks per channel; a coroutine callback runs as a task of its own, so a slow
    one never holds up the connection that delivers."""

    def __init__(self) -> None:
        self.channels: dict[str, list[Callback]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, channel: str, callback: Callback) -> bool:
        """True when the channel is new."""
        new = channel not in self.channels
        self.channels.setdefault(channel, []).append(callback)
        return new

    def deliver(self, channel: str, payload: str) -> None:
        for callback in self.channels.get(channel, []):
            try:
                result = callback(payload)
            except Exception as exc:
                log.warning("bus_callback_failed", channel=channel, error=repr(exc))
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("bus_callback_failed", error=repr(task.exception()))

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


class LocalBus:
    """One process (in-memory SQLite): delivered directly."""

    def __init__(self) -> None:
        self._deliveries = _Deliveries()

    async def subscribe(self, channel: str, callback: Callback) -> None:
        self._deliveries.add(channel, callback)

    async def notify(self, channel: str, payload: str) -> None:
        self._deliveries.deliver(channel, _checked(payload))

    async def close(self) -> None:
        await self._deliveries.cancel()


class PostgresBus:
    """LISTEN/NOTIFY on one dedicated asyncpg connection."""

    def __init__(self, dsn: str, settings: Settings) -> None:
        self.dsn = dsn
        self.timeout = settings.db_timeout_seconds
        self._deliveries = _Deliveries()
        self._connection: Any = None
        self._lock = asyncio.Lock()
        self._reconnect: asyncio.Task[None] | None = None
        self._closed = False

    async def _connect(self) -> Any:
        """The open connection, listening on every subscribed channel (call with the lock)."""
        import asyncpg  # type: ignore[import-untyped]

        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        connection = await asyncpg.connect(
            self.dsn,
            timeout=self.timeout,
            server_settings={"application_name": "evcharge-bus"},
        )
        for channel in self._deliveries.channels:
            await connection.add_listener(channel, self._on_notification)
        connection.add_termination_listener(self._on_lost)
        self._connection = connection
        return connection

    def _on_notification(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        self._deliveries.deliver(channel, payload)

    def _on_lost(self, _connection: Any) -> None:
        if self._closed or (self._reconnect is not None and not self._reconnect.done()):
            return
        self._reconnect = asyncio.ensure_future(self._reconnect_forever())

    async def _reconnect_forever(self) -> None:
        while not self._closed:
            await asyncio.sleep(RECONNECT_SECONDS)
            try:
                async with self._lock:
                    await self._connect()
                log.info("bus_reconnected")
                return
            except Exception as exc:
                log.warning("bus_reconnect_failed", error=repr(exc))

    async def subscribe(self, channel: str, callback: Callback) -> None:
        async with self._lock:
            new = self._deliveries.add(channel, callback)
            fresh = self._connection is None or self._connection.is_closed()
            connection = await self._connect()  # a fresh one listens on every channel
            if new and not fresh:
                await connection.add_listener(channel, self._on_notification)

    async def notify(self, channel: str, payload: str) -> None:
        async with self._lock:
            connection = await self._connect()
            await connection.execute("SELECT pg_notify($1, $2)", channel, _checked(payload))

    async def close(self) -> None:
        self._closed = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(BaseException):
                await self._reconnect
        if self._connection is not None and not self._connection.is_closed():
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=self.timeout)
        await self._deliveries.cancel()


def _sqlite_now() -> str:
    """Now as SQLAlchemy stores a UtcDateTime on SQLite (naive UTC text), so the sweep's
    deletion by age compares like with like."""
    return datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


class SqliteBus:
    """Rows in `ocpp_bus`, polled by every subscribed process of the host."""

    def __init__(self, path: str, settings: Settings) -> None:
        self.path = path
        self.poll_seconds = settings.ocpp_bus_poll_seconds
        self.busy_ms = int(settings.db_timeout_seconds * 1000)
        self._deliveries = _Deliveries()
        self._connection: Any = None
        self._lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        self._last = 0

    async def _connect(self) -> Any:
        import aiosqlite

        if self._connection is None:
            connection = await aiosqlite.connect(self.path, isolation_level=None)
            await connection.execute(f"PRAGMA busy_timeout={self.busy_ms}")
            self._connection = connection
        return self._connection

    async def subscribe(self, channel: str, callback: Callback) -> None:
        async with self._lock:
            self._deliveries.add(channel, callback)
            if self._poller is None:
                connection = await self._connect()
                async with connection.execute("SELECT coalesce(max(id), 0) FROM ocpp_bus") as rows:
                    row = await rows.fetchone()
                self._last = int(row[0]) if row else 0
                self._poller = asyncio.create_task(self._poll_forever(), name="ocpp-bus-poll")

    async def notify(self, channel: str, payload: str) -> None:
        async with self._lock:
            connection = await self._connect()
            await connection.execute(
                "INSERT INTO ocpp_bus (channel, payload, created) VALUES (?, ?, ?)",
                (channel, _checked(payload), _sqlite_now()),
            )

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self._poll()
            except Exception as exc:  # the database is away: the next poll retries
                log.warning("bus_poll_failed", error=repr(exc))

    async def _poll(self) -> None:
        channels = list(self._deliveries.channels)
        marks = ",".join("?" * len(channels))
        async with self._lock:
            connection = await self._connect()
            query = (
                f"SELECT id, channel, payload FROM ocpp_bus WHERE id > ? AND channel IN ({marks})"  # noqa: S608 (placeholders only)
                " ORDER BY id"
            )
            async with connection.execute(query, (self._last, *channels)) as cursor:
                rows = list(await cursor.fetchall())
            if rows:
                self._last = max(self._last, *(int(r[0]) for r in rows))
        for _id, channel, payload in rows:
            self._deliveries.deliver(channel, payload)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(BaseException):
                await self._poller
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        await self._deliveries.cancel()
