"""/readyz says whether the schema is behind and who leads the scheduler."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from fastapi import FastAPI

from evcharge.app import create_app
from evcharge.config import Settings
from evcharge.db import create_engine
from evcharge.health import schema_state
from evcharge.migrations import head_revision, upgrade
from evcharge.sites.schedule import ScheduleState, leader_probe, leadership_for


def anonymous(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_ready_database_reports_its_schema_and_a_schedule_turned_off(app: FastAPI) -> None:
    async with anonymous(app) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["schema"] == {
        "state": "current",
        "revision": head_revision(),
        "expected": head_revision(),
    }
    # In-process test apps run without the schedule (tests/conftest.py).
    assert body["scheduler"] == {"leader": None, "state": "off"}


async def test_a_schema_behind_is_not_ready_and_says_which_command_fixes_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    await asyncio.to_thread(upgrade, url, "0003")
    app = create_app(Settings(database_url=url, log_level="error"))
    try:
        async with anonymous(app) as http:
            response = await http.get("/readyz")
    finally:
        await app.state.engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["schema"]["state"] == "behind"
    assert body["schema"]["revision"] == "0003"
    assert "evcharge db upgrade" in body["reason"]


def test_a_revision_this_code_does_not_know_is_ahead_not_behind() -> None:
    assert schema_state("9999")["state"] == "ahead"
    assert schema_state(None)["state"] == "behind"


async def test_the_scheduler_leader_is_reported_as_the_scheduler_says(app: FastAPI) -> None:
    async def leader() -> str | None:
        return "host-a:4242"

    async def nobody() -> str | None:
        return None

    original = app.state.scheduler_leader
    app.state.settings = app.state.settings.model_copy(update={"schedule_enabled": True})
    try:
        async with anonymous(app) as http:
            app.state.scheduler_leader = leader
            led = (await http.get("/readyz")).json()["scheduler"]
            app.state.scheduler_leader = nobody
            unled = await http.get("/readyz")
    finally:
        app.state.scheduler_leader = original
        app.state.settings = app.state.settings.model_copy(update={"schedule_enabled": False})
    assert led == {"leader": "host-a:4242", "state": "led"}
    assert unled.status_code == 200  # requests are still served without a leader
    assert unled.json()["scheduler"] == {"leader": None, "state": "no leader"}


async def test_the_leader_probe_sees_a_file_lock_held_by_another_process(tmp_path: Path) -> None:
    """SQLite: whoever holds `<db>.schedule.lock` leads; the probe tells it apart from
    nobody and from this process."""
    url = f"sqlite:///{tmp_path / 'led.db'}"
    settings = Settings(database_url=url, log_level="error", schedule_enabled=True)
    engine = create_engine(settings)
    state = ScheduleState()
    probe = leader_probe(settings, engine, state)
    leadership = leadership_for(settings, engine)
    try:
        assert await probe() is None
        assert await leadership.try_acquire()  # another open file: as another process would
        assert await probe() == "another process of this host"
        state.leading = True
        assert (await probe() or "").endswith(f":{os.getpid()}")
    finally:
        await leadership.release()
        await engine.dispose()
