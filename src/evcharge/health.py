"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import os

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["operations"])


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


@router.get("/readyz", responses={503: {"description": "The database is not reachable."}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers within the configured timeout."""
    engine = request.app.state.engine
    try:
        async with asyncio.timeout(request.app.state.settings.db_timeout_seconds):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", never a 500
        return JSONResponse(
            {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
        )
    return JSONResponse({"status": "ok"})
