"""Plumbing of the console: templates, the signed-in caller, CSRF, error pages, headers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evcharge.compat.body import BodyError
from evcharge.compat.form import FORM_TYPE, parse_form
from evcharge.config import Settings
from evcharge.console import sessions
from evcharge.db import database_unreachable
from evcharge.errors import DomainError

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


class BadCsrf(Exception):
    """A form without the session's CSRF token."""


async def signed_in(request: Request) -> sessions.SignedIn:
    token = request.cookies.get(sessions.COOKIE)
    if not token:
        raise SignInRequired
    settings: Settings = request.app.state.settings
    env_key = settings.admin_key.get_secret_value() if settings.admin_key else None
    async with request.app.state.engine.connect() as connection:
        found = await sessions.resolve(connection, token, request.app.state.clock(), env_key)
        await connection.commit()
    if found is None:
        raise SignInRequired
    request.state.principal = found.principal
    return found


Caller = Annotated[sessions.SignedIn, Depends(signed_in)]


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form (the console posts nothing else); anything unreadable is empty,
    so the CSRF check refuses it."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        return {}
    try:
        return parse_form(await request.body(), "utf-8")
    except BodyError:
        return {}


async def check_csrf(request: Request, caller: sessions.SignedIn) -> dict[str, str]:
    """The posted form, once its CSRF token matched the session's."""
    fields = await read_form(request)
    if not sessions.same_token(fields.get("csrf"), caller.csrf):
        raise BadCsrf
    return fields


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    caller: sessions.SignedIn | None = None,
) -> Response:
    settings: Settings = request.app.state.settings
    base = {
        "caller": caller.principal if caller else None,
        "csrf": caller.csrf if caller else None,
        "zone": settings.timezone,
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, template, {**base, **context}, status_code)


def local_time(request: Request) -> Any:
    zone = request.app.state.settings.zone

    def fmt(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return "—" if value is None else value.astimezone(zone).strftime(pattern)

    return fmt


def number(value: Decimal | float | int | None, places: int = 2) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)):,.{places}f}"


templates.env.filters["number"] = number
templates.env.globals["quote"] = quote


def _wants_fragment(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/ui/sign-in?next={quote(target, safe='')}"
    if _wants_fragment(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def install_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: Exception) -> Response:
        return to_sign_in(request)

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, _exc: Exception) -> Response:
        return error_page(request, 403, "The form has expired or was not sent from this console.")

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        problems = [f"{field}: {' '.join(p)}" for field, p in exc.errors.items()]
        return error_page(request, exc.status, exc.message, problems)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
        return error_page(request, 400, "The address is not valid.", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if database_unreachable(exc):
            return error_page(request, 503, "The database cannot be reached; try again soon.")
        raise exc


def error_page(
    request: Request, status: int, message: str, problems: list[str] | None = None
) -> Response:
    principal = getattr(request.state, "principal", None)
    context = {"status": status, "message": message, "problems": problems or []}
    headers = {"Retry-After": "5"} if status == 503 else None
    response = templates.TemplateResponse(
        request,
        "error.html",
        {
            **context,
            "caller": principal,
            "csrf": None,
            "zone": request.app.state.settings.timezone,
            "path": request.url.path,
        },
        status,
    )
    if headers:
        response.headers.update(headers)
    return response


class SecurityHeaders:
    """Pure ASGI: the console's pages forbid framing, inline script and foreign origins."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(("/ui", "/"))
            or scope["path"].startswith(("/docs", "/redoc"))
        ):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)
