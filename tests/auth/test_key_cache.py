"""The key check on the hot path: verified keys cached per process, revocation seen by the
next request in every process, a rate limit shared through leases, and refusals that
never write. "Processes" here are Authenticators with engines of their own, as each
worker of `evcharge serve` has."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from evcharge.auth.models import ApiKey
from evcharge.auth.service import Authenticator
from evcharge.config import Settings
from evcharge.db import create_engine
from evcharge.errors import TooManyRequests, Unauthorized
from tests.conftest import ClientFor
from tests.factories import create_key, rate_limited, revoke_key

WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


@contextmanager
def statements(engine: AsyncEngine) -> Any:
    """Every SQL statement the engine sends while the block runs (BEGIN included)."""
    seen: list[str] = []

    def cursor(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.strip().upper())

    def begin(connection: Any) -> None:
        if connection.engine.dialect.name == "sqlite":
            seen.append("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "before_cursor_execute", cursor)
    event.listen(engine.sync_engine, "begin", begin)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", cursor)
        event.remove(engine.sync_engine, "begin", begin)


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.startswith(WRITES)]


async def trusted(authenticator: Authenticator) -> None:
    """Until the process may use its cache (PostgreSQL: its LISTEN connection is up)."""
    for _ in range(1000):
        if await authenticator.changes.usable():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the key cache never became usable")


@asynccontextmanager
async def processes(
    settings: Settings, count: int, clock: Callable[[], float]
) -> AsyncIterator[list[Authenticator]]:
    engines = [create_engine(settings) for _ in range(count)]
    authenticators = [Authenticator(settings, engine, clock=clock) for engine in engines]
    try:
        for authenticator in authenticators:
            await trusted(authenticator)
        yield authenticators
    finally:
        for authenticator, engine in zip(authenticators, engines, strict=True):
            await authenticator.close()
            await engine.dispose()


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def test_a_cached_key_costs_no_database_statement(
    app: FastAPI, client_for: ClientFor
) -> None:
    _id, key = await create_key(app)
    http = client_for(key)
    await trusted(app.state.authenticator)
    with rate_limited(app, rate=50, burst=100, clock=[4_000_000.0]):  # leases of 5 tokens
        assert (await http.get("/api/customers")).status_code == 200  # looked up, then cached
        with statements(app.state.engine) as seen:
            for _ in range(3):
                assert (await app.state.authenticator.authenticate(bearer(key))).key_id == _id
    assert writes(seen) == [], seen  # three requests fit in the first lease
    assert not [s for s in seen if "API_KEYS" in s], seen


async def test_a_revoked_key_is_refused_on_the_next_request_in_every_process(
    app: FastAPI, client_for: ClientFor, settings: Settings
) -> None:
    key_id, key = await create_key(app)
    async with processes(settings, 2, clock=lambda: 1_000_000.0) as workers:
        for worker in workers:
            assert (await worker.authenticate(bearer(key))).key_id == key_id
            assert worker.cache.get(key_id) is not None
        heard = [getattr(worker.changes, "notified", 0) for worker in workers]
        await revoke_key(app, key_id)
        if settings.database_url.startswith("postgresql"):
            # NOTIFY arrives asynchronously: wait for the event itself, not for time.
            for worker, before in zip(workers, heard, strict=True):
                for _ in range(500):
                    if worker.changes.notified > before:  # type: ignore[union-attr]
                        break
                    await asyncio.sleep(0.01)
        for worker in workers:
            with pytest.raises(Unauthorized):
                await worker.authenticate(bearer(key))
    assert (await client_for(key).get("/api/customers")).status_code == 401


async def test_a_customer_key_sees_its_customer_once_it_is_registered(
    app: FastAPI, client: httpx.AsyncClient, client_for: ClientFor
) -> None:
    """A customer key made before its customer is not cached without the customer's uuid."""
    _id, key = await create_key(app, customer=5)
    http = client_for(key)
    assert (await http.get("/api/customers/5")).status_code == 404
    assert (await client.put("/api/customers/5", json={"Name": "Five"})).status_code == 201
    assert (await http.get("/api/customers/5")).status_code == 200
    assert (await client.delete("/api/customers/5")).status_code == 204
    assert (await client.put("/api/customers/5", json={"Name": "Again"})).status_code == 201
    again = await http.get("/api/customers/5")
    assert again.status_code == 200 and again.json()["Name"] == "Again"


async def test_refusing_made_up_or_malformed_keys_never_writes(
    app: FastAPI, client_for: ClientFor, settings: Settings
) -> None:
    made_up = "evk_0123456789abcdef_" + "x" * 43
    key_id, real = await create_key(app)
    wrong_secret = f"evk_{key_id}_" + "y" * 43
    refused = [made_up, wrong_secret, "evk_nothex_abc", "not-a-key", "evk__"]
    blocker = None
    if settings.sqlite_path is not None:
        # Another writer holds SQLite's write lock: a refusal that wrote would wait for it.
        blocker = sqlite3.connect(settings.sqlite_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
    try:
        with statements(app.state.engine) as seen:
            for key in refused * 3:
                response = await client_for(key).get("/api/customers")
                assert response.status_code == 401, response.text
        assert writes(seen) == [], seen
    finally:
        if blocker is not None:
            blocker.execute("ROLLBACK")
            blocker.close()
    stored = await _row(app, key_id)
    assert stored.last_used is None and stored.tokens == 0.0  # the wrong secret changed nothing
    assert (await client_for(real).get("/api/customers")).status_code == 200


async def _row(app: FastAPI, key_id: str) -> ApiKey:
    async with app.state.sessions() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.id == key_id))
        assert row is not None
        return row


async def test_last_used_is_written_from_memory_at_most_once_a_minute(
    app: FastAPI, client_for: ClientFor
) -> None:
    key_id, key = await create_key(app)
    authenticator: Authenticator = app.state.authenticator
    clock = [2_000_000.0]
    with rate_limited(app, rate=0, burst=1, clock=clock):
        with statements(app.state.engine) as seen:
            for _ in range(20):
                await authenticator.authenticate(bearer(key))
                clock[0] += 1
            await asyncio.gather(*authenticator.touching)
        assert len([s for s in seen if s.startswith("UPDATE")]) == 1, seen
        first = (await _row(app, key_id)).last_used
        assert first is not None and first.timestamp() == 2_000_000.0
        clock[0] += 60
        await authenticator.authenticate(bearer(key))
        await asyncio.gather(*authenticator.touching)
        later = (await _row(app, key_id)).last_used
        assert later is not None and later.timestamp() == clock[0]


RATE, BURST, SECONDS = 100.0, 100, 10.0


async def _hammer(
    workers: list[Authenticator], key: str, clock: list[float], per_second: float
) -> tuple[int, int]:
    """Requests at `per_second`, each to a random process, for SECONDS: (admitted, refused)."""
    pick = random.Random(8)
    admitted = refused = 0
    retry_after: set[int] = set()
    for _ in range(int(per_second * SECONDS)):
        clock[0] += 1 / per_second
        try:
            await pick.choice(workers).authenticate(bearer(key))
            admitted += 1
        except TooManyRequests as exc:
            retry_after.add(int(exc.headers["Retry-After"]))
            refused += 1
    assert refused == 0 or retry_after == {1}, retry_after
    return admitted, refused


async def test_the_leased_bucket_holds_the_limit_across_processes_within_10_percent(
    app: FastAPI, settings: Settings
) -> None:
    key_id, key = await create_key(app)
    clock = [3_000_000.0]
    limited = settings.model_copy(update={"rate_limit_per_second": RATE, "rate_limit_burst": BURST})
    async with processes(limited, 3, clock=lambda: clock[0]) as workers:
        with statements(workers[0].engine) as seen:
            admitted, refused = await _hammer(workers, key, clock, per_second=600)
        allowed = BURST + RATE * SECONDS  # the full bucket, then the refill
        assert 0.9 * allowed <= admitted <= allowed, (admitted, refused)
        # Refusals are answered from memory until the bucket holds a lease again: the
        # process wrote for a small share of the ~2,000 requests it answered.
        leases = [s for s in seen if s.startswith("UPDATE")]
        assert len(leases) <= (admitted + refused) / 3 / 5, len(leases)

        clock[0] += 10  # the bucket refills to its burst
        with statements(workers[1].engine) as seen:
            admitted, refused = await _hammer(workers, key, clock, per_second=50)
        assert (admitted, refused) == (500, 0)
        leases = [s for s in seen if s.startswith("UPDATE")]
        assert len(leases) <= 500 / 3 / 5, len(leases)  # each a share of many requests
    assert key_id
