"""Replanning without an operator: the schedule's rounds, and exactly one leader among
real server processes, with a takeover when the leader dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from evcharge.plans.context import PlanContext
from evcharge.sites.schedule import FileLeadership, ScheduleState, tick
from tests.commandline import EVCHARGE, environment, run
from tests.conftest import ADMIN_KEY, POSTGRES_URL, create_pg_database, drop_pg_database
from tests.factories import device_path, hourly_prices, put_prices, register_device
from tests.live_server import free_port
from tests.plans.test_plan_endpoint import DAY, PRICES, get_plan, smart


def context_at(moment: datetime) -> PlanContext:
    return PlanContext(now=moment, efficiency=0.9)


async def test_a_device_behind_its_plan_is_replanned_at_the_next_slot_boundary(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    readings = device_path() + "/meterreadings"
    await client.post(readings, json={"Timestamp": clock.isoformat(), "EnergyKwh": 100})
    await client.post(device_path(), json=smart(level=20))
    planned = await get_plan(client)
    first = planned["Slots"][0]
    assert first["Start"] == "2026-03-03T01:00:00Z"
    state = ScheduleState()
    # Before the plan starts nothing is off plan.
    assert await tick(app.state.sessions, context_at(clock + timedelta(minutes=20)), state) == 0
    # 02:00: the car should have had 11 kWh but the register did not move (missed slot).
    at = DAY + timedelta(hours=26)
    app.state.clock = lambda: at
    await client.post(readings, json={"Timestamp": at.isoformat(), "EnergyKwh": 100})
    # (the reading itself replanned; make the stored plan the old one again to see the
    # schedule find it)
    async with app.state.sessions() as session:
        from sqlalchemy import update

        from evcharge.plans.models import ChargePlan

        await session.execute(
            update(ChargePlan).values(
                slots=[
                    {
                        "start": s["Start"].replace("Z", "+00:00"),
                        "end": s["End"].replace("Z", "+00:00"),
                        "power_kw": s["PowerKw"],
                        "energy_kwh": s["EnergyKwh"],
                        "price": s["Price"],
                    }
                    for s in planned["Slots"]
                ],
                start_time=DAY + timedelta(hours=25),
                trigger="ChargingInformation",
            )
        )
        await session.commit()
    assert await tick(app.state.sessions, context_at(at + timedelta(minutes=1)), state) == 1
    replanned = await get_plan(client)
    assert replanned["Trigger"] == "Schedule"
    assert replanned["Slots"][0]["Start"] >= "2026-03-03T02:01:00Z"
    assert sum(s["EnergyKwh"] for s in replanned["Slots"]) == pytest.approx(
        planned["EnergyKwh"], abs=1e-4
    )
    # The same boundary is not looked at twice.
    assert await tick(app.state.sessions, context_at(at + timedelta(minutes=2)), state) == 0


async def test_a_plan_expires_at_its_deadline_and_new_prices_replan_their_area(
    client: httpx.AsyncClient, app: FastAPI, clock: datetime
) -> None:
    await register_device(client, price_area="BE")
    await put_prices(client, "BE", hourly_prices(DAY, PRICES))
    await client.post(device_path(), json=smart(level=20, deadline="2026-03-03T03:00:00Z"))
    state = ScheduleState()
    assert await tick(app.state.sessions, context_at(clock), state) == 0  # remembers prices
    expired_at = DAY + timedelta(hours=27, minutes=5)
    assert await tick(app.state.sessions, context_at(expired_at), state) == 1
    plan = await get_plan(client)
    assert plan["Trigger"] == "Schedule"
    assert "has passed" in plan["Reason"]
    assert plan["Slots"] == []
    # Prices stored by another process (this one's upload replans by itself, so the
    # area's stamp is moved as another writer would).
    async with app.state.sessions() as session:
        from sqlalchemy import update

        from evcharge.prices.models import PriceArea

        await session.execute(update(PriceArea).values(updated=expired_at))
        await session.commit()
    assert await tick(app.state.sessions, context_at(expired_at), state) == 1
    assert (await get_plan(client))["Trigger"] == "Prices"


async def test_the_sqlite_leader_lock_is_held_by_one_holder_until_released(
    tmp_path: Path,
) -> None:
    first = FileLeadership(tmp_path / "evcharge.db.schedule.lock")
    second = FileLeadership(tmp_path / "evcharge.db.schedule.lock")
    assert await first.try_acquire()
    assert not await second.try_acquire()
    await first.release()
    assert await second.try_acquire()
    await second.release()


@pytest.fixture(params=["postgresql"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An upgraded PostgreSQL database of its own that two server processes share."""
    if not POSTGRES_URL:
        pytest.skip("set EVCHARGE_TEST_POSTGRES_URL (CI does)")
    name = asyncio.run(create_pg_database())
    base, _, _ = POSTGRES_URL.rpartition("/")
    env = environment(tmp_path, EVCHARGE_DATABASE_URL=f"{base}/{name}")
    env |= {"EVCHARGE_ADMIN_KEY": ADMIN_KEY, "EVCHARGE_SCHEDULE_INTERVAL_SECONDS": "0.3"}
    try:
        assert run("db", "upgrade", env=env).returncode == 0
        yield env
    finally:
        asyncio.run(drop_pg_database(name))


def schedule_of(port: int) -> str | None:
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return None
    role: str = reply.json()["schedule"]
    return role


def wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_exactly_one_server_runs_the_schedule_and_another_takes_over_when_it_dies(
    shared_database: dict[str, str],
) -> None:
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [*EVCHARGE, "serve", "--port", str(port)],
            env=shared_database,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        # Start-up takes seconds on a loaded machine: wait for both to answer.
        assert wait_for(lambda: all(schedule_of(p) is not None for p in ports), 120)
        assert wait_for(lambda: [schedule_of(p) for p in ports].count("leader") == 1, 10)
        for _ in range(5):  # and it stays exactly one
            roles = [schedule_of(p) for p in ports]
            assert sorted(roles) == ["leader", "standby"], roles  # type: ignore[type-var]
            time.sleep(0.3)
        leader = [schedule_of(p) for p in ports].index("leader")
        os.kill(servers[leader].pid, signal.SIGKILL)
        servers[leader].wait(timeout=10)
        other = ports[1 - leader]
        started = time.monotonic()
        assert wait_for(lambda: schedule_of(other) == "leader", 10)
        assert time.monotonic() - started < 10
    finally:
        for server in servers:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)
