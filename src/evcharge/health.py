"""Liveness and readiness for load balancers, orchestrators and the console."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

router = APIRouter(tags=["operations"])

SchedulerLeader = Callable[[], Awaitable[str | None]]
"""`app.state.scheduler_leader`: the scheduler installs it; it answers the identity of the
process that holds the scheduler's leadership (e.g. "host:pid"), or None when nobody does."""


@lru_cache(maxsize=1)
def _scripts() -> tuple[str | None, frozenset[str]]:
    """(head revision, every revision this code knows); read once per process."""
    from alembic.script import ScriptDirectory  # heavy: imported when first asked

    from evcharge.migrations import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config(""))
    return scripts.get_current_head(), frozenset(s.revision for s in scripts.walk_revisions())


def schema_state(current: str | None) -> dict[str, Any]:
    """`behind`: the database lacks migrations this code needs (`evcharge db upgrade`);
    `ahead`: a newer release has migrated it (this process is the old one of a rollout)."""
    head, known = _scripts()
    if current == head:
        state = "current"
    elif current is None or current in known:
        state = "behind"
    else:
        state = "ahead"
    return {"state": state, "revision": current, "expected": head}


async def readiness(app_state: Any) -> tuple[bool, dict[str, Any]]:
    """What /readyz answers and the console shows: (ready, details)."""
    from evcharge.migrations import current_revision

    engine: AsyncEngine = app_state.engine
    details: dict[str, Any] = {"status": "ok"}
    try:
        async with asyncio.timeout(app_state.settings.db_timeout_seconds):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            revision = await current_revision(engine)
    except Exception as exc:  # any failure means "not ready", never a 500
        return False, {"status": "unavailable", "reason": type(exc).__name__}
    details["database"] = "ok"
    details["schema"] = schema_state(revision)
    details["scheduler"] = await _scheduler(app_state)
    ready = details["schema"]["state"] != "behind"
    if not ready:
        details["status"] = "unavailable"
        details["reason"] = "The database schema is behind: run `evcharge db upgrade`."
    return ready, details


async def _scheduler(app_state: Any) -> dict[str, Any]:
    if not app_state.settings.schedule_enabled:
        return {"leader": None, "state": "off"}
    leader: SchedulerLeader | None = getattr(app_state, "scheduler_leader", None)
    if leader is None:
        return {"leader": None, "state": "not installed"}
    try:
        holder = await leader()
    except Exception as exc:  # report, never fail the probe on it
        return {"leader": None, "state": "unknown", "reason": type(exc).__name__}
    return {"leader": holder, "state": "led" if holder else "no leader"}


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """The process is alive (no dependency checked); `schedule` says whether this process
    runs the replanning schedule (leader), waits to take it over (standby) or has it off."""
    settings = request.app.state.settings
    state = getattr(request.app.state, "schedule", None)
    if not settings.schedule_enabled or state is None:
        schedule = "off"
    else:
        schedule = "leader" if state.leading else "standby"
    return JSONResponse({"status": "ok", "schedule": schedule, "pid": os.getpid()})


@router.get(
    "/readyz",
    responses={503: {"description": "The database is not reachable or its schema is behind."}},
)
async def readyz(request: Request) -> JSONResponse:
    """The database answers within the configured timeout and its schema is not behind;
    also says who leads the scheduler (reported, not required: requests are served
    without it)."""
    ready, details = await readiness(request.app.state)
    return JSONResponse(details, status_code=200 if ready else 503)
