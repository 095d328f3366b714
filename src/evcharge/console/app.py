"""The console as its own small app, reached before API-key authentication (it has its
own: a session cookie from a signed-in key) — plus /docs and /redoc from vendored assets."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from evcharge import metrics
from evcharge.console import charger_page, router, signin
from evcharge.console.chargers import RegisteredChargers
from evcharge.console.web import STATIC, SecurityHeaders, install_errors

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
ASSETS = {p.name: p for p in STATIC.iterdir() if p.suffix in {".js", ".css", ".png", ".svg"}}
"""Served files, fixed at start (a name not in here is a 404, never a path on disk)."""


def is_console_path(path: str) -> bool:
    return path == "/" or path == "/ui" or path.startswith("/ui/") or path in DOCS_PATHS


def create_console(state: Any) -> FastAPI:
    """The console shares the API app's state (settings, engine, clock, authenticator)."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state = state
    if not hasattr(state, "charger_source"):
        state.charger_source = RegisteredChargers()
    console.include_router(signin.router)
    console.include_router(router.router)
    console.include_router(charger_page.router)

    @console.get("/ui/static/{name}")
    async def static(name: str) -> Response:
        found = ASSETS.get(name)
        if found is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        return FileResponse(found, headers={"Cache-Control": "public, max-age=3600"})

    @console.get("/docs")
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="evcharge — API",
            swagger_js_url="/ui/static/swagger-ui-bundle.js",
            swagger_css_url="/ui/static/swagger-ui.css",
            swagger_favicon_url="/ui/static/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @console.get("/docs/oauth2-redirect")
    async def oauth2_redirect() -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    @console.get("/redoc")
    async def redoc() -> Response:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="evcharge — API",
            redoc_js_url="/ui/static/redoc.standalone.js",
            redoc_favicon_url="/ui/static/favicon-32x32.png",
            with_google_fonts=False,
        )

    install_errors(console)
    console.add_middleware(metrics.RouteTemplate)
    console.add_middleware(SecurityHeaders)
    return console


class ConsoleDispatch:
    """Pure ASGI: console paths go to the console app, everything else on to the API."""

    def __init__(self, app: ASGIApp, console: ASGIApp) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_console_path(scope["path"]):
            await self.console(scope, receive, send)
            return
        await self.app(scope, receive, send)
