"""CreateOrder's hot path checks out a bare driver connection (evcharge.db.pooled_driver):
whatever happens to the statement, the pool only ever gets back a connection that is
ready for the next request."""

from __future__ import annotations

import asyncio

import pytest

from evcharge.config import Settings
from evcharge.db import create_engine, pooled_driver
from evcharge.errors import Unavailable


async def test_a_cancelled_statement_leaves_the_pool_ready(
    settings: Settings,
) -> None:
    if settings.is_sqlite:
        pytest.skip("the driver hot path is PostgreSQL's")
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1}))
    try:

        async def slow() -> None:
            async with pooled_driver(engine) as driver:
                await driver.execute("SELECT pg_sleep(5)")

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The pool's one connection was mid-statement when it came back (asyncpg lets
        # the next statement wait for the cancellation): it serves the next request.
        async with pooled_driver(engine) as driver:
            assert await asyncio.wait_for(driver.fetchval("SELECT 1"), 2) == 1
    finally:
        await engine.dispose()


async def test_a_lost_connection_is_a_503_and_is_replaced(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("the driver hot path is PostgreSQL's")
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1}))
    try:
        with pytest.raises(Unavailable):
            async with pooled_driver(engine) as driver:
                # The server ends this very connection, as a restart or failover would.
                await driver.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        async with pooled_driver(engine) as driver:
            assert await driver.fetchval("SELECT 1") == 1
    finally:
        await engine.dispose()
