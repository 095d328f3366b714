"""Fixtures: every database test runs on SQLite and, where EVCHARGE_TEST_POSTGRES_URL is
set (CI sets it), on PostgreSQL — each in a database of its own, migrated once per run.

Tests go through the real unit of work (commit/rollback is part of what is tested);
tables are emptied after each test instead of wrapping it in an outer transaction."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import asyncpg
import httpx
import hypothesis
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from evcharge.app import create_app
from evcharge.config import Settings
from evcharge.db import lost_a_race
from evcharge.migrations import upgrade
from evcharge.models import metadata

ADMIN_KEY = "test-admin-key-0123456789abcdef"
"""EVCHARGE_ADMIN_KEY of the test app; the `client` fixture sends it."""
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}

# Machines here are shared and noisy: a property test is judged by its examples, never by
# how long one took (a deadline would turn a GC pause into a "flaky" failure).
# CI explores the same examples every run (a red CI then reproduces); elsewhere each run
# explores anew.
hypothesis.settings.register_profile(
    "evcharge", deadline=None, derandomize=bool(os.environ.get("CI"))
)
hypothesis.settings.load_profile("evcharge")

POSTGRES_URL = os.environ.get("EVCHARGE_TEST_POSTGRES_URL", "")

# In-process test apps do not run the background replanning schedule (tests call its
# rounds themselves); servers started as processes (tests.test_cli.environment) do.
os.environ.setdefault("EVCHARGE_SCHEDULE_ENABLED", "false")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def _pg_url(database: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{database}"


async def create_pg_database() -> str:
    """A fresh PostgreSQL database for this run (parallel runs never share tables)."""
    name = f"evcharge_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgresql://", "postgres://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgresql://", "postgres://", 1))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'evcharge.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url
        return
    name = await create_pg_database()
    try:
        url = _pg_url(name)
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await drop_pg_database(name)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_level="warning", admin_key=ADMIN_KEY)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await application.state.authenticator.close()
    await application.state.engine.dispose()


async def empty_tables(application: FastAPI) -> None:
    await application.state.ocpp.frames.flush()  # frames still on their way to the log
    # Charging profiles are sent in the background after a charger connects: let that
    # finish first (a delete of every table meanwhile can deadlock with it on PostgreSQL).
    await asyncio.wait_for(application.state.ocpp.smart.idle.wait(), timeout=30)
    await asyncio.wait_for(application.state.ocpp.settlement.idle(), timeout=30)
    # Keys' "last used" is written in the background after a request: let it end, or a
    # sync test next (which stops this event loop) keeps SQLite's write lock held by it.
    await asyncio.wait_for(asyncio.gather(*application.state.authenticator.touching), 30)
    # A server process of the test (tests.test_races) keeps replanning in the background;
    # a delete of every table, child tables first, can deadlock with a replan that locked
    # its gateway first. PostgreSQL then aborts one of the two: if it is this one, again.
    for attempt in range(5):
        try:
            async with application.state.engine.begin() as connection:
                for table in reversed(metadata.sorted_tables):
                    await connection.execute(table.delete())
            return
        except DBAPIError as error:
            if not lost_a_race(error) or attempt == 4:
                raise


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client (EVCHARGE_ADMIN_KEY as Bearer); tables are emptied afterwards."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as http:
        del http.headers["Accept"]  # as .NET's HttpClient: no Accept unless asked for
        yield http
    await empty_tables(app)


NOW = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
"""The injected "now" of tests that plan (a Monday evening, UTC)."""


@pytest.fixture
def clock(app: FastAPI) -> Iterator[datetime]:
    """Freeze the app's clock at NOW for the test."""
    original = app.state.clock
    app.state.clock = lambda: NOW
    yield NOW
    app.state.clock = original


ClientFor = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def client_for(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[ClientFor]:
    """`client_for(key)`: a client sending `key` as Bearer (or `headers=` of its own);
    each is closed, and the tables emptied (by `client`), after the test."""
    opened: list[httpx.AsyncClient] = []

    def make(key: str | None = None, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=sent
        )
        del http.headers["Accept"]  # as .NET's HttpClient: no Accept unless asked for
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly which databases the database tests ran on."""
    counts: dict[str, dict[str, int]] = {backend: {} for backend in ("sqlite", "postgresql")}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and getattr(report, "when", "call") != "call":
                continue
            for backend in counts:
                if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
                    counts[backend][outcome] = counts[backend].get(outcome, 0) + 1
    terminalreporter.section("database backends")
    for backend, outcomes in counts.items():
        if backend == "postgresql" and not POSTGRES_URL:
            terminalreporter.write_line(
                "postgresql: not run (set EVCHARGE_TEST_POSTGRES_URL; CI does)"
            )
            continue
        summary = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "no tests"
        terminalreporter.write_line(f"{backend}: {summary}")
