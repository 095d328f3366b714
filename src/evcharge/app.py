"""create_app(): routers, middleware, error handlers — nothing else."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI

from evcharge import health, logs, metrics
from evcharge.auth.limits import BodyLimits
from evcharge.auth.middleware import Authenticate
from evcharge.auth.openapi import document_security
from evcharge.auth.principal import route_guard
from evcharge.auth.service import Authenticator
from evcharge.charging_info.router import router as charging_info_router
from evcharge.compat import errors
from evcharge.compat.envelope import render_error
from evcharge.compat.negotiation import WebApiNegotiation
from evcharge.compat.routing import CaseInsensitivePaths, literal_segments, route_methods
from evcharge.compat.webapi import finish_openapi
from evcharge.config import Settings, get_settings
from evcharge.console.app import ConsoleDispatch, create_console
from evcharge.db import create_engine, session_factory
from evcharge.ocpp.central import CentralSystem
from evcharge.ocpp.commands.router import router as ocpp_commands
from evcharge.ocpp.console_source import OcppChargers
from evcharge.ocpp.endpoint import route as ocpp_route
from evcharge.ocpp.router import id_tags as ocpp_id_tags
from evcharge.ocpp.router import router as ocpp_router
from evcharge.orders.router import CreateOrderFastPath
from evcharge.orders.router import router as orders_router
from evcharge.plans.context import system_clock
from evcharge.plans.router import router as plans_router
from evcharge.prices.router import router as prices_router
from evcharge.registry.router import router as registry_router
from evcharge.sites.router import router as sites_router
from evcharge.sites.schedule import ScheduleState, leader_probe, run_schedule

DESCRIPTION = """
evcharge serves two ASP.NET-era API families exactly as their clients expect:

* **Family A — home smart charging** (`api/customers/…`): registry and the seed's
  charging-information endpoint. PascalCase JSON, case-insensitive property names,
  errors as `{"Message", "ModelState"}`.
* **Family B — charge orders** (`api/ChargeOrder/…`): orders in JSON, XML or form,
  answered with the `ResultMessage` envelope.

Every operation except `/healthz` and `/readyz` needs an API key, sent as
`Authorization: Bearer <key>`, as `X-Api-Key: <key>`, or as the password of HTTP Basic.
A customer key sees only its own customer's things; anything else answers 404.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_level)
    engine = create_engine(settings)
    metrics.instrument_engine(engine, settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything built at start-up lives as long as the process: keep it out of the
        # garbage collector's full passes, which otherwise stall requests (p99).
        gc.freeze()
        stop = asyncio.Event()
        task = None
        if settings.schedule_enabled:
            # The clock is looked up on every tick: tests replace app.state.clock.
            schedule = run_schedule(
                settings, engine, app.state.sessions, _app_clock(app), app.state.schedule, stop
            )
            task = asyncio.create_task(schedule)
        yield
        stop.set()
        if task is not None:
            await task
        await app.state.ocpp.shutdown()
        await app.state.authenticator.close()
        await engine.dispose()

    app = FastAPI(
        title="evcharge",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(route_guard)],
        # A trailing slash is matched, never redirected (see CaseInsensitivePaths).
        redirect_slashes=False,
        docs_url=None,  # served by the console from vendored assets (no CDN)
        redoc_url=None,
        # Metrics are Prometheus (/metrics); FastAPI's native OpenTelemetry hooks are off:
        # unconfigured they still cost a provider check on every request (measured).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = system_clock
    app.state.schedule = ScheduleState()
    app.state.scheduler_leader = leader_probe(settings, engine, app.state.schedule)
    app.state.authenticator = Authenticator(settings, engine)
    app.state.ocpp = CentralSystem(settings, engine, app.state.sessions, lambda: app.state.clock())
    app.state.charger_source = OcppChargers(
        settings.ocpp_process_ttl_seconds, lambda: app.state.clock()
    )

    routers = [
        health.router,
        registry_router,
        charging_info_router,
        plans_router,
        prices_router,
        orders_router,
        ocpp_router,
        ocpp_commands,
        ocpp_id_tags,
        sites_router,
    ]
    for router in routers:
        app.include_router(router)
    app.router.routes.append(ocpp_route)  # WebSocket /ocpp/{ChargePointId}
    errors.install(app)
    app.state.route_methods = route_methods(routers)
    errors.register_family("/api/chargeorder", render_error)
    # Outermost last: metrics → log → body limits → the console and /docs (their own
    # sign-in) → canonical paths → /metrics (its own protection) → family A's reply media
    # type → key (before any unit of work) → CreateOrder's hot path (so it is
    # authenticated like every route) → the route template for the metrics' labels.
    app.add_middleware(metrics.RouteTemplate)
    app.add_middleware(CreateOrderFastPath)
    app.add_middleware(Authenticate, authenticator=app.state.authenticator)
    app.add_middleware(WebApiNegotiation)
    app.add_middleware(
        metrics.MetricsEndpoint,
        key=settings.metrics_key.get_secret_value() if settings.metrics_key else None,
        open_on_loopback=settings.metrics_open_on_loopback,
    )
    app.add_middleware(CaseInsensitivePaths, words=literal_segments(routers))
    app.add_middleware(ConsoleDispatch, console=create_console(app.state))
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_body_bytes,
        timeout_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(logs.RequestLog)
    app.add_middleware(metrics.RequestMetrics)
    _document_bodies(app)
    return app


def _app_clock(app: FastAPI) -> Callable[[], datetime]:
    def now() -> datetime:
        value: datetime = app.state.clock()
        return value

    return now


def _document_bodies(app: FastAPI) -> None:
    """Bodies read by the handlers themselves still appear, with their models, in OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            finish_openapi(schema)
            document_security(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
