"""Engine, metadata, column types shared by every table, and the unit of work per request."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import Depends, Request
from sqlalchemy import BigInteger, DateTime, MetaData, Numeric, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import greenlet_spawn

from evcharge.config import Settings
from evcharge.errors import Conflict, Unavailable

RETRY_AFTER_SECONDS = 5

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

QUANTITY_SCALE = 6
_MICROS = Decimal(10) ** QUANTITY_SCALE


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as UTC on both engines."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: store naive UTC so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Quantity(TypeDecorator[Decimal]):
    """Exact decimal (energy, power, money): NUMERIC(18,6) on PostgreSQL, integer
    millionths on SQLite, which has no exact decimal type of its own."""

    impl = Numeric(18, QUANTITY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, QUANTITY_SCALE))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal(1).scaleb(-QUANTITY_SCALE))
        return int(value * _MICROS) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _MICROS).normalize()
        return Decimal(value).normalize()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {datetime: UtcDateTime(), Decimal: Quantity()}  # noqa: RUF012


class Timestamped:
    """Server-owned bookkeeping columns of every registry entity."""

    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


def create_engine(settings: Settings) -> AsyncEngine:
    """One engine per process; SQLite gets WAL, FULL sync and one writer at a time."""
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": settings.db_timeout_seconds},
        )
        _configure_sqlite(engine, busy_timeout_ms=int(settings.db_timeout_seconds * 1000))
        return engine
    return create_async_engine(
        settings.database_url,
        # A fixed pool: overflow connections would be opened and closed per request under
        # sustained load (measured: the CreateOrder benchmark fell to a tenth). Requests
        # beyond the pool wait for a connection, up to the timeout, then get a 503.
        pool_size=settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_timeout_seconds,
        pool_pre_ping=False,
        connect_args={
            "timeout": settings.db_timeout_seconds,
            "command_timeout": settings.db_timeout_seconds,
            "server_settings": {"application_name": "evcharge"},
        },
    )


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN below is the only one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a check-then-insert inside one
        # transaction cannot interleave with another writer (the SQLite counterpart
        # of PostgreSQL's constraints), and no transaction fails late on upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextlib.asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Commit when the block ends, roll back when it raises; an unreachable database
    becomes `Unavailable` (503). Requests, batch jobs and the CLI all write through it."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException as exc:
            await _rollback_quietly(session)
            if database_unreachable(exc):
                raise database_unavailable() from exc
            if lost_a_race(exc):
                raise concurrent_change() from exc
            raise


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The unit of work of one request. Runs before the response is sent
    (scope="function"), so an acknowledged write is committed."""
    async with unit_of_work(request.app.state.sessions) as session:
        yield session


async def _rollback_quietly(session: AsyncSession) -> None:
    with contextlib.suppress(Exception):  # the connection is gone; the pool discards it
        await session.rollback()


_DRIVER_AWAY = (
    asyncpg.InterfaceError,  # includes ConnectionDoesNotExistError
    asyncpg.InternalClientError,  # e.g. "another operation is in progress" as the socket dies
    asyncpg.PostgresConnectionError,
)
"""asyncpg's own errors when the server went away mid-request; SQLAlchemy passes some of
them through untranslated (InternalClientError is no DBAPI error)."""


def database_unreachable(exc: BaseException) -> bool:
    """True for failures that mean "the database is away", not "the request is wrong"."""
    if isinstance(exc, (PoolTimeout, TimeoutError, ConnectionError, *_DRIVER_AWAY)):
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or connection_lost(exc.orig)
    return isinstance(exc, OSError)


_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
"""Connection exceptions (class 08), the server shutting down or starting up, and the
server refusing more connections (too_many_connections: away for us, retry later)."""


def connection_lost(error: BaseException | None) -> bool:
    """A driver error caused by a lost or refused connection (asyncpg reports a socket
    closed during connect as a generic error whose cause carries SQLSTATE 08003)."""
    for _ in range(5):
        if error is None:
            return False
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNREACHABLE_SQLSTATES):
            return True
        if isinstance(error, (ConnectionError, TimeoutError, *_DRIVER_AWAY)):
            return True
        error = error.__cause__
    return False


_RACE_SQLSTATES = ("40001", "40P01")
"""Serialization failure and deadlock: the writes take their locks in one order
(`registry.repository.lock_gateway_for_replan`), so these should not happen; if one does,
the client is told to retry, never given a 500."""


def lost_a_race(exc: BaseException) -> bool:
    error: BaseException | None = exc.orig if isinstance(exc, DBAPIError) else exc
    for _ in range(5):
        if error is None:
            return False
        if getattr(error, "sqlstate", None) in _RACE_SQLSTATES:
            return True
        error = error.__cause__
    return False


def concurrent_change() -> Conflict:
    return Conflict("The data was changed by a concurrent request; retry the request.")


def database_unavailable() -> Unavailable:
    return Unavailable(headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


Session = Annotated[AsyncSession, Depends(_request_session, scope="function")]


@contextlib.asynccontextmanager
async def connection_unit_of_work(request: Request) -> AsyncIterator[AsyncConnection]:
    """The request's unit of work as a bare Core connection, for a hot path that has no
    use for the ORM Session (it costs more CPU than a database round trip): commit when
    the block ends, roll back when it raises, "database away" becomes 503."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            yield connection
            if connection.in_transaction():  # an autocommitted statement left none open
                await connection.commit()
    except BaseException as exc:
        if database_unreachable(exc):
            raise database_unavailable() from exc
        if lost_a_race(exc):
            raise concurrent_change() from exc
        raise


@contextlib.asynccontextmanager
async def pooled_driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A pooled connection's own driver connection (asyncpg), for one statement that
    needs nothing of SQLAlchemy's execution layer: the pool checkout without the Core
    connection around it costs about half the CPU (measured: ~35 µs against ~80 µs).
    The statement commits by itself (no transaction is begun). A connection that failed
    as "database away" is discarded, never handed out again, and the failure is a 503."""
    try:
        pooled = await greenlet_spawn(engine.sync_engine.pool.connect)
    except Exception as exc:
        if database_unreachable(exc):
            raise database_unavailable() from exc
        raise
    try:
        yield pooled.driver_connection
    except Exception as exc:
        if not (database_unreachable(exc) or connection_lost(exc)):
            raise
        await greenlet_spawn(pooled.invalidate, exc)
        raise database_unavailable() from exc
    finally:
        await greenlet_spawn(pooled.close)
