"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is alive (no dependency checked)."""
    return JSONResponse({"status": "ok"})


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
