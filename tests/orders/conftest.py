"""Fixtures of the charge-order tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from evcharge.app import create_app
from evcharge.config import Settings
from tests.conftest import ADMIN_HEADERS


@pytest.fixture
async def oslo_client(
    settings: Settings, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """The same database served by an app whose operator time zone is Europe/Oslo."""
    app: FastAPI = create_app(settings.model_copy(update={"timezone": "Europe/Oslo"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=ADMIN_HEADERS
    ) as http:
        yield http
    await app.state.authenticator.close()
    await app.state.engine.dispose()
